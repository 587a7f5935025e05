#!/usr/bin/env python3
"""Training throughput, PyTorch CPU vs `unet bench --train`, on the same model, batch, tile and threads.

    python3 scripts/train_bench.py --width 16 --tile 256 --batch 8 --threads 2 [--steps 5] [--json]

PyTorch: model.train(), BCEWithLogitsLoss, Adam(lr=1e-3), fp32, one warm-up step then the median of
--steps steps on a fixed random batch. Ours: the same weights saved as .pth, `unet bench --train`.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from unet_model import UNet  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--unet", default=os.path.join(os.path.dirname(HERE), ".build", "release", "unet"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = UNet(3, 1, bilinear=True, width=args.width)
    with tempfile.TemporaryDirectory() as tmp:
        pth = os.path.join(tmp, "model.pth")
        torch.save(model.state_dict(), pth)
        x = torch.rand(args.batch, 3, args.tile, args.tile)
        t = (torch.rand(args.batch, 1, args.tile, args.tile) > 0.5).float()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.BCEWithLogitsLoss()
        model.train()
        times = []
        for step in range(args.steps + 1):
            start = time.perf_counter()
            opt.zero_grad()
            loss_fn(model(x), t).backward()
            opt.step()
            if step > 0:
                times.append(time.perf_counter() - start)
        torch_ips = args.batch / statistics.median(times)
        ours = None
        if os.path.exists(args.unet):
            # As systemd starts the daemon: no OPENBLAS_* (unet sets OpenBLAS to one thread itself), no UNET_CPU.
            env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_") and k != "UNET_CPU"}
            out = subprocess.run([args.unet, "bench", "--train", "--model", pth, "--tile", str(args.tile), "--batch", str(args.batch),
                                  "--threads", str(args.threads), "--runs", str(max(args.steps, 5)), "--warmup", "1", "--json"],
                                 capture_output=True, text=True, env=env)
            if out.returncode == 0:
                ours = json.loads(out.stdout)["images_per_second"]
            else:
                print(out.stderr, file=sys.stderr)
    result = {"width": args.width, "tile": args.tile, "batch": args.batch, "threads": args.threads,
              "pytorch_images_per_second": torch_ips, "unet_images_per_second": ours,
              "unet_over_pytorch": ours / torch_ips if ours else None, "torch_version": torch.__version__,
              "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"width {args.width}, tile {args.tile}, batch {args.batch}, {args.threads} threads")
        print(f"pytorch  {torch_ips:8.2f} images/s")
        print(f"unet     {ours:8.2f} images/s  ({ours / torch_ips:.2f}x)" if ours else "unet     unavailable")


if __name__ == "__main__":
    main()
