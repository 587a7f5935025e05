#!/usr/bin/env python3
"""Write the slide fixtures in Tests/Fixtures/slides/ from the real H&E images in ../shared/data/he.

    python3 scripts/make_slide_fixtures.py      # needs Pillow and numpy only

- tia_crop_64x48.tif: the exact crop (x=300, y=400, 64x48) whose PyTorch outputs are in
  Tests/Fixtures/engine/ref_bilinear_c1_bias.golden.safetensors, stored losslessly (LZW).
- histo_he.tif: histo.jpg (500x300) as a striped LZW TIFF.
- tia_he.tif: tia_target_image.png (1000x1000) as JPEG-in-TIFF (quality 90): the sample slide.
- half_glass.tif: a 512x256 field whose right half is blank glass, for the background skip.
- tia_he.json: BreCaHAD-format ground truth for tia_he.tif (nucleus centroids from colour
  deconvolution, see scripts/nuclei_points.py) so the scoring path has a real input.
"""
import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DATA = os.path.join(os.path.dirname(REPO), "shared", "data", "he")
OUT = os.path.join(REPO, "Tests", "Fixtures", "slides")


def main():
    os.makedirs(OUT, exist_ok=True)
    tia = Image.open(os.path.join(DATA, "tia_target_image.png")).convert("RGB")
    histo = Image.open(os.path.join(DATA, "histo.jpg")).convert("RGB")
    tia.crop((300, 400, 364, 448)).save(os.path.join(OUT, "tia_crop_64x48.tif"), compression="tiff_lzw")
    histo.save(os.path.join(OUT, "histo_he.tif"), compression="tiff_lzw")
    tia.save(os.path.join(OUT, "tia_he.tif"), compression="jpeg", quality=90)
    field = np.asarray(tia.crop((0, 0, 512, 256))).copy()
    field[:, 256:] = (244, 244, 246)
    Image.fromarray(field).save(os.path.join(OUT, "half_glass.tif"), compression="tiff_lzw")
    sys.path.insert(0, HERE)
    from nuclei_points import nuclei_centroids
    points = nuclei_centroids(np.asarray(tia))
    h, w = tia.height, tia.width
    truth = {"tumor": [{"x": round(x / w, 5), "y": round(y / h, 5)} for x, y in points],
             "non_tumor": [], "mitosis": [], "apoptosis": [], "tubule": [], "non_tubule": []}
    with open(os.path.join(OUT, "tia_he.json"), "w") as f:
        json.dump(truth, f)
    for name in sorted(os.listdir(OUT)):
        print(f"{name:24s} {os.path.getsize(os.path.join(OUT, name)):9d}")


if __name__ == "__main__":
    main()
