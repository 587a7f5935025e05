#!/usr/bin/env python3
"""Checks a slide's whole-slide outputs with the libraries viewers use, not with unetd's own code:

    pip install openslide-python openslide-bin shapely
    scripts/check_wsi_outputs.py OUTDIR/NAME

- NAME.mask.tif through OpenSlide: vendor, levels, downsamples, MPP, values 0/255 at level 0;
- NAME.geojson through GEOS (shapely; JTS, its Java original, is what QuPath uses): every polygon valid;
- NAME.objects.csv: same ids in the same order as the GeoJSON features.
Exits non-zero on any failure.
"""
import csv
import json
import os
import sys

import numpy as np


def main():
    stem = sys.argv[1]
    failures = 0
    if os.path.exists(stem + ".mask.tif"):
        import openslide
        slide = openslide.OpenSlide(stem + ".mask.tif")
        print(f"mask.tif: {slide.properties.get('openslide.vendor')}, {slide.level_count} levels {slide.level_dimensions}, "
              f"mpp {slide.properties.get('openslide.mpp-x')}")
        w, h = slide.level_dimensions[0]
        values = np.unique(np.asarray(slide.read_region((0, 0), 0, (min(w, 2048), min(h, 2048))))[:, :, 0])
        if slide.level_count < 1 or not set(values.tolist()) <= {0, 255}:
            print(f"  FAIL: values {values}"); failures += 1
    if os.path.exists(stem + ".geojson"):
        from shapely.geometry import shape
        from shapely.validation import explain_validity
        features = json.load(open(stem + ".geojson"))["features"]
        invalid = [(f["id"], explain_validity(shape(f["geometry"]))) for f in features if not shape(f["geometry"]).is_valid]
        print(f"geojson: {len(features)} features, {len(invalid)} invalid {invalid[:3]}")
        failures += bool(invalid)
        if os.path.exists(stem + ".objects.csv"):
            ids = [row["id"] for row in csv.DictReader(open(stem + ".objects.csv"))]
            same = ids == [f["id"] for f in features]
            print(f"objects.csv: {len(ids)} rows, ids {'match' if same else 'DIFFER'}")
            failures += not same
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
