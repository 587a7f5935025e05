#!/usr/bin/env python3
"""Training data for the embedded demonstration model, in `unet train`'s masks layout:

    python3 scripts/make_default_model_data.py OUT_DIR     # then `make default-model` (see Makefile)

Sources: the two real H&E images in ../shared/data/he (tia_target_image.png, tiatoolbox 2.1.3, BSD-3;
histo.jpg, TCIA via stardist 0.9.2, BSD-3). Case_1 is tia's four 500x500 quadrants, Case_2 histo's
two halves; each case also gets crops whose right half is replaced by blank glass (mask empty there),
so the model learns to leave background alone.

Labels are nucleus *pixels*, not circles: colour deconvolution (Ruifrok & Johnston haematoxylin, see
nuclei_points.py), Otsu, opening, holes filled, components under 30 px dropped. Derived labels, not
expert annotation: this is a demonstration model.

Images are written as TIFF declaring 0.5 um/px (XResolution 50,800 dpi), the scale their nuclei
suggest (median nucleus ~ 7-9 um across); `unet train` stores the images' common MPP in the model.
"""
import os
import sys

import numpy as np
from PIL import Image
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nuclei_points import haematoxylin, otsu  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "data", "he")
MPP = 0.5
GLASS = np.array([243, 243, 245], dtype=np.float64)


def nuclei_mask(rgb):
    h = ndimage.gaussian_filter(haematoxylin(rgb), 1.0)
    mask = ndimage.binary_opening(h > otsu(h), iterations=1)
    mask = ndimage.binary_fill_holes(mask)
    labels, count = ndimage.label(mask)
    areas = ndimage.sum(mask, labels, range(1, count + 1))
    keep = np.zeros(count + 1, bool)
    keep[1:] = areas >= 30
    return keep[labels], areas[areas >= 30]


def with_glass(rgb, mask, seed):
    rng = np.random.default_rng(seed)
    rgb, mask = rgb.copy(), mask.copy()
    half = rgb.shape[1] // 2
    noise = rng.normal(0, 2.0, size=rgb[:, half:].shape)
    rgb[:, half:] = np.clip(GLASS + noise, 0, 255).astype(np.uint8)
    mask[:, half:] = False
    return rgb, mask


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    os.makedirs(os.path.join(out, "masks"), exist_ok=True)
    tia = np.asarray(Image.open(os.path.join(DATA, "tia_target_image.png")).convert("RGB"))
    histo = np.asarray(Image.open(os.path.join(DATA, "histo.jpg")).convert("RGB"))
    crops = {
        "Case_1": [tia[y:y + 500, x:x + 500] for y in (0, 500) for x in (0, 500)],
        "Case_2": [histo[:, :250], histo[:, 250:]],
    }
    dpi = 25_400 / MPP
    all_areas = []
    for case, images in crops.items():
        items = []
        for rgb in images:
            mask, areas = nuclei_mask(rgb)
            all_areas.extend(areas)
            items.append((rgb, mask))
        items += [with_glass(rgb, mask, seed) for seed, (rgb, mask) in enumerate(items[:2])]
        for index, (rgb, mask) in enumerate(items, start=1):
            name = f"{case}-{index:02d}"
            Image.fromarray(rgb).save(os.path.join(out, "images", name + ".tif"), compression="tiff_lzw", dpi=(dpi, dpi))
            Image.fromarray((mask * 255).astype(np.uint8)).save(os.path.join(out, "masks", name + ".png"))
            print(f"{name}: {rgb.shape[1]}x{rgb.shape[0]}, {mask.mean() * 100:.1f}% nucleus")
    diameter = 2 * np.sqrt(np.median(all_areas) / np.pi) * MPP
    print(f"median nucleus: {np.median(all_areas):.0f} px, ~{diameter:.1f} um across at {MPP} um/px")


if __name__ == "__main__":
    main()
