#!/usr/bin/env python3
"""PyTorch's own bf16 autocast against its fp32, on the bundled real H&E slides through the shipped
default model: the reference the portable bf16 path is held to (BFloat16SegmentationTests).

    python3 scripts/make_bf16_reference.py   # pip install torch numpy pillow

Writes Tests/Fixtures/engine/bf16_reference.json: per slide, max |Δprob|, mask agreement and Dice
between the masks (threshold 0.5), whole image padded by reflection to a multiple of 16, as
ImagePredictor runs it.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from unet_model import UNet  # noqa: E402

MODEL = os.path.join(REPO, "Sources/DefaultModel/Resources/default-model.safetensors")
SLIDES = ["tia_he", "histo_he", "half_glass"]


def load_state_dict(path):
    raw = open(path, "rb").read()
    size = struct.unpack("<Q", raw[:8])[0]
    header, data = json.loads(raw[8:8 + size]), raw[8 + size:]
    tensors = {}
    for key, spec in header.items():
        if key == "__metadata__":
            continue
        begin, end = spec["data_offsets"]
        tensors[key] = torch.from_numpy(np.frombuffer(data[begin:end], dtype=np.float32).reshape(spec["shape"]).copy())
    return tensors


def main():
    torch.set_num_threads(2)
    tensors = load_state_dict(MODEL)
    model = UNet(3, tensors["outc.conv.weight"].shape[0], bilinear="up1.up.weight" not in tensors,
                 width=tensors["inc.double_conv.0.weight"].shape[0], bias="inc.double_conv.0.bias" in tensors)
    model.load_state_dict(tensors, strict=False)
    model.eval()
    result = {"torch": torch.__version__, "model_sha256_prefix": None, "slides": {}}
    for name in SLIDES:
        image = np.asarray(Image.open(os.path.join(REPO, f"Tests/Fixtures/slides/{name}.tif")).convert("RGB"), dtype=np.float32) / 255
        height, width = image.shape[:2]
        x = torch.from_numpy(image.transpose(2, 0, 1)[None].copy())
        x = torch.nn.functional.pad(x, (0, (width + 15) // 16 * 16 - width, 0, (height + 15) // 16 * 16 - height), mode="reflect")
        with torch.inference_mode():
            single = torch.sigmoid(model(x))[0, 0, :height, :width]
            with torch.autocast("cpu", dtype=torch.bfloat16):
                half = torch.sigmoid(model(x).float())[0, 0, :height, :width]
        a, b = single >= 0.5, half >= 0.5
        result["slides"][f"slides/{name}.tif"] = {
            "max_abs_dprob": round(float((single - half).abs().max()), 6),
            "agreement": round(float((a == b).float().mean()), 6),
            "dice": round(float(2 * (a & b).sum() / (a.sum() + b.sum())), 6),
        }
    del result["model_sha256_prefix"]
    path = os.path.join(REPO, "Tests/Fixtures/engine/bf16_reference.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
