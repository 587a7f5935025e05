#!/usr/bin/env python3
"""milesial U-Net parameter shapes and random checkpoints, without torch (fuzz seeds, reload benchmarks).

    python3 scripts/random_unet.py --width 64 OUT.safetensors [--nan]

Writes a plain PyTorch-named state dict as safetensors, the way `safetensors.torch.save_file` would;
`--nan` puts a NaN in the last layer's weights, a file unetd must refuse after loading it whole.
"""
import argparse
import json
import struct


def shapes(w, transposed=False, classes=1, bias=False, input_channels=3):
    """(name, shape) of every parameter and buffer, as UNetArchitecture.parameterShapes lists them."""
    factor = 1 if transposed else 2
    out = []

    def double(prefix, i, m, o):
        for index, a, b in ((0, i, m), (3, m, o)):
            out.append((f"{prefix}.double_conv.{index}.weight", [b, a, 3, 3]))
            if bias:
                out.append((f"{prefix}.double_conv.{index}.bias", [b]))
            for field in ("weight", "bias", "running_mean", "running_var"):
                out.append((f"{prefix}.double_conv.{index + 1}.{field}", [b]))

    for block in (("inc", input_channels, w, w), ("down1.maxpool_conv.1", w, 2 * w, 2 * w),
                  ("down2.maxpool_conv.1", 2 * w, 4 * w, 4 * w), ("down3.maxpool_conv.1", 4 * w, 8 * w, 8 * w),
                  ("down4.maxpool_conv.1", 8 * w, 16 * w // factor, 16 * w // factor)):
        double(*block)
    for index, i, o in ((1, 16 * w, 8 * w // factor), (2, 8 * w, 4 * w // factor), (3, 4 * w, 2 * w // factor), (4, 2 * w, w)):
        if transposed:
            out += [(f"up{index}.up.weight", [i, i // 2, 2, 2]), (f"up{index}.up.bias", [i // 2])]
        double(f"up{index}.conv", i, o if transposed else i // 2, o)
    return out + [("outc.conv.weight", [classes, w, 1, 1]), ("outc.conv.bias", [classes])]


def safetensors(tensors, metadata=None):
    """The safetensors bytes of [(name, shape, little-endian float32 bytes)]."""
    header, offset = ({"__metadata__": metadata} if metadata else {}), 0
    for name, shape, blob in tensors:
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
    text = json.dumps(header, sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blob for _, _, blob in tensors)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--nan", action="store_true")
    args = ap.parse_args()
    import numpy as np  # only here: the fuzz seeds import this module without numpy
    rng = np.random.default_rng(args.seed)
    tensors = []
    for name, shape in shapes(args.width):
        if name.endswith("running_var"):
            values = 1.0 + rng.random(shape)
        elif name.endswith("weight") and len(shape) == 4:
            values = rng.normal(0, (2.0 / (shape[1] * shape[2] * shape[3])) ** 0.5, shape)
        else:
            values = rng.uniform(-0.1, 0.1, shape)
        values = values.astype("<f4")
        if args.nan and name == "outc.conv.weight":
            values.flat[0] = np.nan
        tensors.append((name, shape, values.tobytes()))
    open(args.out, "wb").write(safetensors(tensors))


if __name__ == "__main__":
    main()
