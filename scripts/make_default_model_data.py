#!/usr/bin/env python3
"""Training data for the embedded default model, in `unet train`'s masks layout with instance maps
(images/NAME.tif + masks/NAME_inst.png, 16-bit, one id per nucleus):

    python3 scripts/make_default_model_data.py OUT_DIR     # then `make default-model` (see Makefile)

Sources: the two real H&E images in ../shared/data/he (tia_target_image.png, tiatoolbox 2.1.3, BSD-3;
histo.jpg, TCIA via stardist 0.9.2, BSD-3). Case_1 is the four quadrants of tia halved (its nuclei are
40-50 px across, which puts it near 0.25 um/px), Case_2 histo's
two halves; each case also gets crops whose right half is replaced by blank glass (mask empty there),
so the model learns to leave background alone.

Labels are nucleus *pixels*, not circles: colour deconvolution (Ruifrok & Johnston haematoxylin, see
nuclei_points.py), Otsu, opening, holes filled, components under 30 px dropped. Derived labels, not
expert annotation: this is a demonstration model.

Their instance maps split those masks' blobs into nuclei by a distance-transform watershed (markers:
peaks of the distance transform at least 6 px apart, scikit-image), so touching nuclei there are not
taught as one. Most of the data is the 107 stained tiles of ../shared/data/nuclei (DSB 2018 / BBBC038v1,
CC0; 4,550 nuclei labelled one by one), case `dsb2018_ID` each, resampled by DSB_SCALE to 0.5 um/px
(image bicubic, instance map nearest). Their scale is not given: their median nucleus is 18.6 px
across, and taking an H&E nucleus as ~8 um across (lymphocytes ~7, epithelial and tumour nuclei 8-12)
puts them at ~0.43 um/px, so DSB_SCALE = 0.43 / 0.5. Scale augmentation in `unet train` covers the
rest of that uncertainty.

Images are written as TIFF declaring 0.5 um/px (XResolution 50,800 dpi), the scale their nuclei
suggest (median nucleus ~ 7-9 um across); `unet train` stores the images' common MPP in the model.
"""
import os
import sys

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.segmentation import watershed

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nuclei_points import haematoxylin, otsu  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "data", "he")
NUCLEI = os.path.join(os.path.dirname(DATA), "nuclei")
MPP = 0.5
DSB_SCALE = 0.43 / MPP
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


def split_blobs(mask):
    """Pseudo-instances for derived labels: each blob cut at the saddles of its distance transform."""
    distance = ndimage.distance_transform_edt(mask)
    blobs, _ = ndimage.label(mask)
    peaks = peak_local_max(distance, min_distance=6, labels=blobs, exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return watershed(-distance, markers, mask=mask)


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
    # tia's nuclei are 40-50 px across, ~10-12 um at about 0.25 um/px: halved to the 0.5 um/px declared.
    tia = np.asarray(Image.fromarray(tia).resize((tia.shape[1] // 2, tia.shape[0] // 2), Image.BICUBIC))
    crops = {
        "Case_1": [tia[y:y + 250, x:x + 250] for y in (0, 250) for x in (0, 250)],
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
            instances = split_blobs(mask)
            Image.fromarray(instances.astype(np.uint16)).save(os.path.join(out, "masks", name + "_inst.png"))
            print(f"{name}: {rgb.shape[1]}x{rgb.shape[0]}, {mask.mean() * 100:.1f}% nucleus")
    for file in sorted(os.listdir(NUCLEI)):
        if not file.endswith("_inst.png"):
            continue
        name = file[: -len("_inst.png")]
        rgb = Image.open(os.path.join(NUCLEI, name + ".png")).convert("RGB")
        instances = Image.open(os.path.join(NUCLEI, file))
        size = (round(rgb.width * DSB_SCALE), round(rgb.height * DSB_SCALE))
        rgb.resize(size, Image.BICUBIC).save(os.path.join(out, "images", name + ".tif"), compression="tiff_lzw", dpi=(dpi, dpi))
        ids = np.asarray(instances.resize(size, Image.NEAREST)).astype(np.uint16)
        Image.fromarray(ids).save(os.path.join(out, "masks", name + "_inst.png"))
    diameter = 2 * np.sqrt(np.median(all_areas) / np.pi) * MPP
    print(f"median nucleus: {np.median(all_areas):.0f} px, ~{diameter:.1f} um across at {MPP} um/px")


if __name__ == "__main__":
    main()
