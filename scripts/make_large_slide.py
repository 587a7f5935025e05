#!/usr/bin/env python3
"""Writes a large H&E slide for memory and speed benchmarks: a real H&E image mirrored and tiled to
WIDTH x HEIGHT, as a tiled (512 px) JPEG BigTIFF with an Aperio-style description declaring MPP.

    pip install tifffile imagecodecs pillow numpy
    scripts/make_large_slide.py OUT.tif WIDTH HEIGHT [--mpp 0.5] [--source IMAGE] [--pyramid]

--pyramid adds reduced-resolution pages, each a quarter of the one before down to about 1,000 px, as a
scanner's SVS has them (what the web viewer reads its coarse tiles from).

The source defaults to ../shared/data/he/tia_target_image.png (see its README for the licence). Tiles
are produced one at a time, so memory stays small whatever the size.
"""
import argparse
import os

import numpy as np
import tifffile
from PIL import Image

TILE = 512


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("width", type=int)
    parser.add_argument("height", type=int)
    parser.add_argument("--mpp", type=float, default=0.5)
    parser.add_argument("--pyramid", action="store_true")
    parser.add_argument("--source", default=os.path.join(here, "..", "..", "shared", "data", "he", "tia_target_image.png"))
    args = parser.parse_args()

    source = np.asarray(Image.open(args.source).convert("RGB"))
    # Mirror the source so the repetition has no hard edges: a 2x2 block of flips tiles seamlessly.
    block = np.concatenate([np.concatenate([source, source[:, ::-1]], axis=1),
                            np.concatenate([source[::-1], source[::-1, ::-1]], axis=1)], axis=0)
    bh, bw = block.shape[:2]

    def tiles(pattern, width, height):
        ph, pw = pattern.shape[:2]
        for y in range(0, height, TILE):
            for x in range(0, width, TILE):
                ys = (np.arange(y, y + TILE) % ph)[:, None]
                xs = (np.arange(x, x + TILE) % pw)[None, :]
                yield pattern[ys, xs]

    description = (f"Aperio Image Library (unetd benchmark slide)\n{args.width}x{args.height} [0,0 {args.width}x{args.height}] "
                   f"({TILE}x{TILE}) JPEG/RGB Q=85|AppMag = {round(10 / args.mpp)}|MPP = {args.mpp:.4f}")
    common = dict(dtype=np.uint8, tile=(TILE, TILE), photometric="rgb", compression="jpeg", compressionargs={"level": 85},
                  resolutionunit="CENTIMETER", metadata=None)
    with tifffile.TiffWriter(args.out, bigtiff=True) as tif:
        tif.write(tiles(block, args.width, args.height), shape=(args.height, args.width, 3), description=description,
                  resolution=(10_000 / args.mpp, 10_000 / args.mpp), **common)
        factor = 4
        while args.pyramid and max(args.width, args.height) // factor >= 1000:
            # The repeating block shrunk by the level's factor stands in for the shrunk slide.
            small = np.asarray(Image.fromarray(block).resize((max(1, bw // factor), max(1, bh // factor)), Image.BOX))
            width, height = args.width // factor, args.height // factor
            tif.write(tiles(small, width, height), shape=(height, width, 3), subfiletype=1,
                      resolution=(10_000 / args.mpp / factor, 10_000 / args.mpp / factor), **common)
            factor *= 4
    print(f"{args.out}: {args.width}x{args.height}, {os.path.getsize(args.out) / 1e6:.0f} MB, MPP {args.mpp}")


if __name__ == "__main__":
    main()
