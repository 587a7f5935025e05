#!/usr/bin/env python3
"""Generate the engine test fixtures in Tests/Fixtures/engine/.

    python3 scripts/make_fixtures.py [--out Tests/Fixtures/engine]

Deterministic (torch.manual_seed(0)); all models are width-4 milesial U-Nets
with randomised BatchNorm parameters/statistics.  Golden outputs are written
as hand-rolled safetensors files (no safetensors package needed).
"""
import argparse
import copy
import io
import json
import os
import pickle
import struct
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet_model import UNet, randomise_batchnorm  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIA = "/work/shared/data/he/tia_target_image.png"
HISTO = "/work/shared/data/he/histo.jpg"
WIDTH = 4


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, float32 tensor); metadata: dict str->str."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    off = 0
    for name, t in tensors:
        a = np.ascontiguousarray(t.detach().cpu().to(torch.float32).numpy()).astype("<f4")
        b = a.tobytes(order="C")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def crop(path, x, y, w, h):
    img = Image.open(path).convert("RGB")
    a = np.asarray(img.crop((x, y, x + w, y + h)), dtype=np.uint8)
    assert a.shape == (h, w, 3), a.shape
    t = torch.from_numpy(a.astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
    return t.contiguous()


def make_model(bilinear, n_classes, bias):
    model = UNet(n_channels=3, n_classes=n_classes, bilinear=bilinear, width=WIDTH, bias=bias)
    # He init keeps the signal alive through 23 layers, so outputs vary across the image and a
    # spatial or BatchNorm-folding mistake shows up far above the tolerance.
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return model


def finalize(model):
    randomise_batchnorm(model)
    model.eval()
    return model


@torch.no_grad()
def golden(model, x, n_classes):
    model.eval()
    logits = model(x).float()
    if n_classes == 1:
        prob = torch.sigmoid(logits)
    else:
        prob = torch.softmax(logits, dim=1)[:, 1:2]
    return logits, prob.contiguous()


def rewrite_zip(src, dst, transform):
    """Copy a torch zip archive entry by entry (same names/order, ZIP_STORED);
    transform(name, bytes) -> bytes, or None to drop the entry."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = transform(info.filename, zin.read(info.filename))
            if data is None:
                continue
            zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            zi.compress_type = zipfile.ZIP_STORED
            zout.writestr(zi, data)


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/unet_pwned",))


# ----------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "Tests", "Fixtures", "engine"))
    args = ap.parse_args()
    out = args.out
    bad = os.path.join(out, "bad")
    os.makedirs(bad, exist_ok=True)

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    x_tia = crop(TIA, 300, 400, 64, 48)    # [1,3,48,64]
    x_histo = crop(HISTO, 100, 50, 60, 44)  # [1,3,44,60]

    summary = []

    def emit_golden(stem, model, x, n_classes):
        logits, prob = golden(model, x, n_classes)
        write_safetensors(
            os.path.join(out, stem + ".golden.safetensors"),
            [("input", x), ("logits", logits), ("probability", prob)],
            {"variant": stem, "generator": "scripts/make_fixtures.py", "torch": torch.__version__},
        )
        summary.append((stem, tuple(x.shape), tuple(logits.shape),
                        float(logits.abs().max()), float(prob.min()), float(prob.max())))
        return logits

    # 1. reference-project training checkpoint: bilinear, 1 class, bias=True
    stem = "ref_bilinear_c1_bias"
    m1 = make_model(bilinear=True, n_classes=1, bias=True)
    opt = torch.optim.Adam(m1.parameters(), lr=1e-3)
    m1.train()
    xb = torch.rand(2, 3, 48, 64)
    yb = (torch.rand(2, 1, 48, 64) > 0.5).float()
    loss = nn.functional.binary_cross_entropy_with_logits(m1(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    finalize(m1)
    torch.save({"epoch": 7, "model_state_dict": m1.state_dict(),
                "optimizer_state_dict": opt.state_dict(),
                "loss": 0.3141, "accuracy": 0.8984}, os.path.join(out, stem + ".pth"))
    emit_golden(stem, m1, x_tia, 1)

    # 2. bare state dict: transposed, 2 classes, bias=False
    stem = "bare_transposed_c2"
    m2 = finalize(make_model(bilinear=False, n_classes=2, bias=False))
    p2 = os.path.join(out, stem + ".pth")
    torch.save(m2.state_dict(), p2)
    emit_golden(stem, m2, x_histo, 2)

    # 3. milesial train.py style: bilinear, 2 classes, bias=False, + mask_values
    stem = "milesial_bilinear_c2_mask_values"
    m3 = finalize(make_model(bilinear=True, n_classes=2, bias=False))
    sd3 = m3.state_dict()
    sd3["mask_values"] = [0, 1]
    torch.save(sd3, os.path.join(out, stem + ".pth"))
    emit_golden(stem, m3, x_tia, 2)

    # 4. DataParallel-prefixed: transposed, 1 class, bias=True
    stem = "dataparallel_transposed_c1"
    m4 = finalize(make_model(bilinear=False, n_classes=1, bias=True))
    sd4 = nn.DataParallel(m4).state_dict()
    assert all(k.startswith("module.") for k in sd4)
    torch.save(sd4, os.path.join(out, stem + ".pth"))
    emit_golden(stem, m4, x_histo, 1)

    # ------------------------------------------------------------------ bad files
    raw2 = open(p2, "rb").read()
    with open(os.path.join(bad, "truncated.pth"), "wb") as f:
        f.write(raw2[: int(len(raw2) * 0.6)])

    with open(os.path.join(bad, "not_a_zip.pth"), "wb") as f:
        f.write((b"this is not a checkpoint\n" * 8)[:200])

    with zipfile.ZipFile(os.path.join(bad, "no_data_pkl.pth"), "w", zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo("archive/version", date_time=(1980, 1, 1, 0, 0, 0)), "3\n")

    evil_pkl = pickle.dumps(Evil(), protocol=2)
    assert b"system" in evil_pkl
    # same entries as a real torch.save archive, data.pkl replaced; the tensor
    # storages (NAME/data/K) are dropped to keep the fixture small (the evil
    # pickle references no persistent ids anyway).
    rewrite_zip(p2, os.path.join(bad, "evil_global.pth"),
                lambda n, d: evil_pkl if n.endswith("/data.pkl") else (None if "/data/" in n else d))

    with zipfile.ZipFile(p2) as z:
        storages = [(i.file_size, i.filename) for i in z.infolist() if "/data/" in i.filename]
    largest = max(storages)[1]
    rewrite_zip(p2, os.path.join(bad, "short_tensor_data.pth"),
                lambda n, d: d[: len(d) // 2] if n == largest else d)

    # fp16: variant-2 architecture & weights, stored as half
    mh = copy.deepcopy(m2).half()
    torch.save(mh.state_dict(), os.path.join(bad, "fp16.pth"))
    mf = copy.deepcopy(mh).float().eval()
    logits_fp16, prob_fp16 = golden(mf, x_histo, 2)
    write_safetensors(
        os.path.join(bad, "fp16.golden.safetensors"),
        [("input", x_histo), ("logits", logits_fp16), ("probability", prob_fp16)],
        {"variant": "fp16", "generator": "scripts/make_fixtures.py", "torch": torch.__version__},
    )
    summary.append(("bad/fp16", tuple(x_histo.shape), tuple(logits_fp16.shape),
                    float(logits_fp16.abs().max()), float(prob_fp16.min()), float(prob_fp16.max())))

    sdn = OrderedDict((k, v.clone()) for k, v in m2.state_dict().items())
    sdn["inc.double_conv.0.weight"][0, 0, 1, 1] = float("nan")
    torch.save(sdn, os.path.join(bad, "nan_weight.pth"))

    wrong = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 1, 1))
    torch.save(wrong.state_dict(), os.path.join(bad, "wrong_layout.pth"))

    sdi = OrderedDict((k, v.clone()) for k, v in m2.state_dict().items())
    key = "down1.maxpool_conv.1.double_conv.0.weight"
    assert tuple(sdi[key].shape) == (8, 4, 3, 3), sdi[key].shape
    sdi[key] = torch.randn(8, 5, 3, 3) * 0.1
    torch.save(sdi, os.path.join(bad, "inconsistent_shapes.pth"))

    # ------------------------------------------------------------------ summary
    print(f"torch {torch.__version__}; fixtures in {out}")
    print(f"{'golden':36s} {'input':>16s} {'logits':>16s} {'max|logit|':>10s} {'p_min':>8s} {'p_max':>8s}")
    for s, xs, ls, mx, pmin, pmax in summary:
        print(f"{s:36s} {str(list(xs)):>16s} {str(list(ls)):>16s} {mx:10.4f} {pmin:8.4f} {pmax:8.4f}")
    print(f"short_tensor_data.pth: halved {largest} ({max(storages)[0]} bytes)")
    total = 0
    print("files:")
    for root, _, files in sorted(os.walk(out)):
        for fn in sorted(files):
            p = os.path.join(root, fn)
            sz = os.path.getsize(p)
            total += sz
            print(f"  {os.path.relpath(p, out):48s} {sz:9d}")
    print(f"total {total} bytes ({total / 1e6:.3f} MB)")
    assert not os.path.exists("/tmp/unet_pwned")


if __name__ == "__main__":
    main()
