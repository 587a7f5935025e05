"""Nucleus centroids in an H&E image by colour deconvolution (Ruifrok & Johnston's haematoxylin
vector), Otsu on the haematoxylin channel, and connected components. Used to label real H&E images
in the BreCaHAD style (one point per nucleus) where no expert annotation exists."""
import numpy as np
from scipy import ndimage

# Ruifrok & Johnston stain vectors (rows: haematoxylin, eosin, residual), optical density space.
STAINS = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])


def haematoxylin(rgb):
    od = -np.log((rgb.astype(np.float64) + 1) / 256)
    unmix = np.linalg.inv(STAINS / np.linalg.norm(STAINS, axis=1, keepdims=True))
    return (od.reshape(-1, 3) @ unmix)[:, 0].reshape(rgb.shape[:2])


def otsu(values, bins=256):
    hist, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist); w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres) / np.maximum(w0, 1)
    m1 = (np.sum(hist * centres) - np.cumsum(hist * centres)) / np.maximum(w1, 1)
    return centres[np.argmax(w0 * w1 * (m0 - m1) ** 2)]


def nuclei_centroids(rgb, min_area=40):
    h = ndimage.gaussian_filter(haematoxylin(rgb), 1.5)
    mask = ndimage.binary_opening(h > otsu(h), iterations=2)
    labels, count = ndimage.label(mask)
    areas = ndimage.sum(mask, labels, range(1, count + 1))
    centres = ndimage.center_of_mass(mask, labels, range(1, count + 1))
    return [(float(c[1]), float(c[0])) for c, a in zip(centres, areas) if a >= min_area]
