#!/usr/bin/env python3
"""The PNG writer's compressor choice, measured: zlib level 1 with run-length matching (what libpng
did for us before) against ISA-L's igzip level 1 (what `CPNG` uses now), on the rows a PNG of ours
deflates: an RGB image Sub-filtered (an overlay), once as it is and once with its top half white, as
a slide's background is. Best of --runs, one thread. Needs `pip install isal numpy pillow`.

    python3 scripts/png_deflate_bench.py OUT/NAME.overlay.png [--runs 5]
"""
import argparse
import time
import zlib

import numpy as np
from isal import isal_zlib
from PIL import Image


def sub_filtered_rows(rgb):
    height, width, _ = rgb.shape
    pixels = rgb.astype(np.int16)
    filtered = pixels.copy()
    filtered[:, 1:, :] -= pixels[:, :-1, :]
    rows = (filtered % 256).astype(np.uint8).reshape(height, width * 3)
    return np.concatenate([np.ones((height, 1), np.uint8), rows], axis=1)  # filter type 1 (Sub) per row


def best_seconds(compress, data, runs):
    best, size = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        size = len(compress(data))
        best = min(best, time.perf_counter() - start)
    return best, size


def zlib_rle(data):
    stream = zlib.compressobj(1, zlib.DEFLATED, 15, 8, zlib.Z_RLE)
    return stream.compress(data) + stream.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("png")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rows = sub_filtered_rows(np.asarray(Image.open(args.png).convert("RGB")))
    half_white = rows.copy()
    half_white[: rows.shape[0] // 2, 1:] = 0  # white pixels Sub-filter to zeros
    print("| rows | MB | zlib RLE level 1: s, MB | ISA-L level 1: s, MB | speed-up |")
    print("|---|---|---|---|---|")
    for label, image in [("as written", rows), ("top half white", half_white)]:
        data = image.tobytes()
        zlib_time, zlib_size = best_seconds(zlib_rle, data, args.runs)
        isal_time, isal_size = best_seconds(lambda d: isal_zlib.compress(d, 1), data, args.runs)
        print(f"| {label} | {len(data) / 1e6:.2f} | {zlib_time:.3f}, {zlib_size / 1e6:.2f} | {isal_time:.3f}, "
              f"{isal_size / 1e6:.2f} | {zlib_time / isal_time:.1f}× |")


if __name__ == "__main__":
    main()
