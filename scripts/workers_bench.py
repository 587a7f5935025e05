#!/usr/bin/env python3
"""Slides per hour through unetd for workers × threads combinations (issue 11), release build.

    python3 scripts/workers_bench.py [--slides 24] [--rounds 2] [--combos 1x2,2x1] [--model M]

A queue of 1360x1024 H&E fields (BreCaHAD's size; the tiatoolbox target image, reflected to size
and shifted per slide so no two are duplicates) is moved into the inbox at once; the time from
the first rename to the last metrics line gives slides per hour; the daemon's VmHWM, its peak memory. Combinations run in interleaved
rounds and each keeps its best, since neighbours on a shared VM steal time. Nothing is set in the
environment (no OPENBLAS_*), as under systemd.
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(REPO, ".build", "release")
SOURCE = os.path.join(REPO, "..", "shared", "data", "he", "tia_target_image.png")


def make_fields(directory, count):
    image = np.asarray(Image.open(SOURCE).convert("RGB"))
    padded = np.pad(image, ((0, 1024 - image.shape[0] + 24), (0, 1360 - image.shape[1] + 24), (0, 0)), mode="reflect")
    paths = []
    for index in range(count):
        dy, dx = (index * 7) % 24, (index * 13) % 24
        field = padded[dy:dy + 1024, dx:dx + 1360]
        path = os.path.join(directory, f"field{index:03d}.tif")
        Image.fromarray(field).save(path, compression="tiff_deflate")
        paths.append(path)
    return paths


def run(fields, workers, threads, model, work):
    root = tempfile.mkdtemp(prefix=f"w{workers}t{threads}-", dir=work)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_") and k != "UNET_CPU"}
    daemon = subprocess.Popen([os.path.join(BIN, "unetd"), "--root", root, "--quiet-period", "0", "--workers", str(workers),
                               "--threads", str(threads), *(["--model", model] if model else [])],
                              stderr=subprocess.DEVNULL, env=env)
    ctl = [os.path.join(BIN, "unetctl"), "--socket", os.path.join(root, "unetd.sock"), "status"]
    while subprocess.run(ctl, capture_output=True).returncode != 0:
        time.sleep(0.1)
    staging = os.path.join(root, "staging")
    os.mkdir(staging)
    for path in fields:
        shutil.copy(path, staging)
    metrics = os.path.join(root, "logs", "metrics.jsonl")
    start = time.perf_counter()
    for name in sorted(os.listdir(staging)):
        os.rename(os.path.join(staging, name), os.path.join(root, "inbox", name))
    while True:
        lines = open(metrics).read().splitlines() if os.path.exists(metrics) else []
        if len(lines) >= len(fields):
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    peak = peak_rss_bytes(daemon.pid)
    daemon.terminate()
    daemon.wait(timeout=60)
    outcomes = {json.loads(line)["outcome"] for line in lines}
    assert outcomes == {"done"}, outcomes
    shutil.rmtree(root)
    return elapsed, peak


def peak_rss_bytes(pid):
    """VmHWM: the daemon's peak resident memory so far."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slides", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--combos", default="1x2,2x1")
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="workers-bench-")
    fields = make_fields(work, args.slides)
    combos = [tuple(int(x) for x in c.split("x")) for c in args.combos.split(",")]
    best, peaks = {}, {}
    for round_index in range(args.rounds):
        for workers, threads in combos:
            seconds, peak = run(fields, workers, threads, args.model, work)
            best[(workers, threads)] = min(best.get((workers, threads), seconds), seconds)
            peaks[(workers, threads)] = max(peaks.get((workers, threads), 0), peak)
            print(f"round {round_index + 1}: workers {workers} × threads {threads}: {seconds:.1f} s, "
                  f"{args.slides / seconds * 3600:.0f} slides/h, peak RSS {peak / 2**20:.0f} MiB", flush=True)
    shutil.rmtree(work)
    print(json.dumps({f"{w}x{t}": {"seconds": round(s, 2), "slides_per_hour": round(args.slides / s * 3600),
                                   "peak_rss_mib": round(peaks[(w, t)] / 2**20)}
                      for (w, t), s in best.items()}, indent=2))


if __name__ == "__main__":
    main()
