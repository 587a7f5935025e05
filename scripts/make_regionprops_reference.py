#!/usr/bin/env python3
"""Writes scikit-image regionprops of one real instance map, the reference for ShapeMeasuresTests.

Usage: python3 scripts/make_regionprops_reference.py [NAME]
Reads ../shared/data/nuclei/NAME_inst.png (BBBC038v1, CC0) and writes
Tests/Fixtures/measurements/regionprops_NAME.json: per nucleus its label, pixel area, perimeter
(skimage's 4-connected estimate), eccentricity, solidity and maximum Feret diameter.
Needs: pip install scikit-image pillow numpy (scikit-image 0.26.0 made the committed file).
"""
import json
import sys

import numpy as np
import skimage
from PIL import Image
from skimage.measure import regionprops

name = sys.argv[1] if len(sys.argv) > 1 else "dsb2018_0bf33d3db428"
labels = np.array(Image.open(f"../shared/data/nuclei/{name}_inst.png")).astype(np.int32)
nuclei = []
for region in regionprops(labels):
    nuclei.append({
        "label": int(region.label),
        "area": int(region.area),
        "perimeter": round(float(region.perimeter), 6),
        "eccentricity": round(float(region.eccentricity), 6),
        "solidity": round(float(region.solidity), 6),
        "feret_diameter_max": round(float(region.feret_diameter_max), 6),
    })
out = f"Tests/Fixtures/measurements/regionprops_{name}.json"
with open(out, "w") as f:
    json.dump({"source": f"../shared/data/nuclei/{name}_inst.png", "scikit_image": skimage.__version__,
               "width": labels.shape[1], "height": labels.shape[0], "nuclei": nuclei}, f, indent=1)
print(out, len(nuclei), "nuclei")
