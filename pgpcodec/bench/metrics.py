"""Fidelity metrics of a decoded image against the original (pure numpy).

PSNR is over all three RGB channels of 8-bit pixels (peak 255). ROI-PSNR is
the PSNR over the union of a prompt's regions; outside-PSNR is over every
other pixel, and shows how hard the irrelevant parts were smoothed.
Identical pixels would give an infinite PSNR; it is capped at
:data:`PSNR_CAP` so results stay plain JSON numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..interfaces import Box

PSNR_CAP = 100.0
PEAK = 255.0


def psnr_from_mse(mse: float, peak: float = PEAK) -> float:
    """10·log10(peak² / MSE) in dB, capped at :data:`PSNR_CAP`."""
    if mse <= 0:
        return PSNR_CAP
    return min(PSNR_CAP, 10.0 * math.log10(peak * peak / mse))


def region_mask(width: int, height: int, boxes: Sequence[Box]) -> np.ndarray:
    """(H, W) bool: True on the union of the boxes (x0, y0, x1, y1, end exclusive)."""
    mask = np.zeros((height, width), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        mask[y0:y1, x0:x1] = True
    return mask


def masked_mse(original: np.ndarray, decoded: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean squared error over the pixels where ``mask`` is True (all pixels when None)."""
    if original.shape != decoded.shape:
        raise ValueError(f"decoded image {decoded.shape} does not match the original {original.shape}")
    squared = (original.astype(np.float64) - decoded.astype(np.float64)) ** 2
    if mask is None:
        return float(squared.mean())
    if not mask.any():
        raise ValueError("the mask selects no pixel")
    return float(squared[mask].mean())


def fidelity(original: np.ndarray, decoded: np.ndarray, regions: Sequence[Box] = ()) -> dict[str, float | None]:
    """``psnr``, ``roi_psnr`` and ``outside_psnr`` of ``decoded`` against ``original``.

    Without regions the whole image is the region of interest (``roi_psnr``
    equals ``psnr``) and ``outside_psnr`` is None; likewise None when the
    regions cover every pixel.
    """
    height, width = original.shape[:2]
    psnr = psnr_from_mse(masked_mse(original, decoded))
    if not regions:
        return {"psnr": psnr, "roi_psnr": psnr, "outside_psnr": None}
    inside = region_mask(width, height, regions)
    outside = None if inside.all() else psnr_from_mse(masked_mse(original, decoded, ~inside))
    return {"psnr": psnr, "roi_psnr": psnr_from_mse(masked_mse(original, decoded, inside)), "outside_psnr": outside}
