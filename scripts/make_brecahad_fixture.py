#!/usr/bin/env python3
"""Write Tests/Fixtures/brecahad_mini/: a small data set in the exact BreCaHAD layout, from real H&E.

    python3 scripts/make_brecahad_fixture.py     # needs Pillow, numpy, scipy

images/Case_1-0N.tif   the four 500x500 quadrants of tia_target_image.png (case 1)
images/Case_2-0N.tif   the two 250x300 halves of histo.jpg (case 2)
groundTruth/NAME.json  {"mitosis": [], "apoptosis": [], "tumor": [{"x":..,"y":..}], "non_tumor": [],
                       "tubule": [], "non_tubule": []}, points normalised to [0, 1]: nucleus centroids
                       found by colour deconvolution (scripts/nuclei_points.py). These are derived
                       labels for testing and for the demonstration model, not expert annotation.
"""
import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nuclei_points import nuclei_centroids  # noqa: E402

REPO = os.path.dirname(HERE)
DATA = os.path.join(os.path.dirname(REPO), "shared", "data", "he")
OUT = os.path.join(REPO, "Tests", "Fixtures", "brecahad_mini")


def write(name, image):
    image.save(os.path.join(OUT, "images", name + ".tif"), compression="jpeg", quality=90)
    points = nuclei_centroids(np.asarray(image))
    truth = {key: [] for key in ("mitosis", "apoptosis", "tumor", "non_tumor", "tubule", "non_tubule")}
    truth["tumor"] = [{"x": round(x / image.width, 5), "y": round(y / image.height, 5)} for x, y in points]
    with open(os.path.join(OUT, "groundTruth", name + ".json"), "w") as f:
        json.dump(truth, f)
    print(name, image.size, len(points), "points")


def main():
    os.makedirs(os.path.join(OUT, "images"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "groundTruth"), exist_ok=True)
    tia = Image.open(os.path.join(DATA, "tia_target_image.png")).convert("RGB")
    histo = Image.open(os.path.join(DATA, "histo.jpg")).convert("RGB")
    for i, (x, y) in enumerate([(0, 0), (500, 0), (0, 500), (500, 500)]):
        write(f"Case_1-0{i + 1}", tia.crop((x, y, x + 500, y + 500)))
    for i, x in enumerate([0, 250]):
        write(f"Case_2-0{i + 1}", histo.crop((x, 0, x + 250, 300)))


if __name__ == "__main__":
    main()
