"""Fidelity metrics of a decoded image against the original (pure numpy).

PSNR is over all three RGB channels of 8-bit pixels (peak 255). ROI-PSNR is
the PSNR over the union of a prompt's regions; outside-PSNR is over every
other pixel, and shows how hard the irrelevant parts were smoothed.
Context PSNR is the outside-PSNR after both images are area-downscaled so
that their long side is :data:`DEFAULT_CONTEXT_SIZE` pixels: about the scale
at which most VLMs see a photo (LLaVA-1.5 336 px, Qwen-VL 448 px, InternVL
448 px tiles), so it measures the context the model can still use, not the
fine texture it never sees. A prefilter that wins by erasing the scene shows
it here.
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
DEFAULT_CONTEXT_SIZE = 448
"""Long side in pixels of the context PSNR's downscaled images."""


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


def context_scale_size(width: int, height: int, long_side: int = DEFAULT_CONTEXT_SIZE) -> tuple[int, int]:
    """(width, height) with the long side ``long_side``; never larger than the image itself."""
    factor = min(1.0, long_side / max(width, height))
    return (max(1, round(width * factor)), max(1, round(height * factor)))


def _area_axis(values: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Area resampling of one axis: each output pixel is the mean over its span of n_in / n_out inputs.

    Exact for fractional spans, via the piecewise-linear integral of the
    piecewise-constant input (4 → 2 averages pairs; 3 → 2 gives
    (2/3·a + 1/3·b) and (1/3·b + 2/3·c)).
    """
    data = np.moveaxis(values, axis, 0)
    n_in = data.shape[0]
    cumulative = np.cumsum(data, axis=0, dtype=np.float64)  # cumulative[i] = sum of inputs 0..i
    edges = np.arange(n_out + 1) * (n_in / n_out)
    index = np.minimum(np.floor(edges).astype(np.int64), n_in - 1)
    frac = (edges - index).reshape((-1,) + (1,) * (data.ndim - 1))
    before = np.where((index > 0).reshape(frac.shape), cumulative[np.maximum(index - 1, 0)], 0.0)
    at_edges = before + frac * data[index]
    return np.moveaxis((at_edges[1:] - at_edges[:-1]) * (n_out / n_in), 0, axis)


def area_downscale(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area (box) downscale of an (H, W) or (H, W, C) array to ``size`` = (width, height), as float64."""
    return _area_axis(_area_axis(values, size[1], 0), size[0], 1)


def context_psnr(original: np.ndarray, decoded: np.ndarray, regions: Sequence[Box], long_side: int = DEFAULT_CONTEXT_SIZE) -> float | None:
    """PSNR outside the regions after area-downscaling both images to ``long_side``.

    A downscaled pixel is context when no original pixel of a region
    contributes to it; None when no such pixel is left (or no region is given).
    """
    if original.shape != decoded.shape:
        raise ValueError(f"decoded image {decoded.shape} does not match the original {original.shape}")
    if not regions:
        return None
    height, width = original.shape[:2]
    size = context_scale_size(width, height, long_side)
    touched = area_downscale(region_mask(width, height, regions).astype(np.float64), size) > 1e-9
    if touched.all():
        return None
    small_original = area_downscale(original, size)
    small_decoded = area_downscale(decoded, size)
    squared = (small_original - small_decoded) ** 2
    return psnr_from_mse(float(squared[~touched].mean()))


def fidelity(
    original: np.ndarray, decoded: np.ndarray, regions: Sequence[Box] = (), *, context_size: int = DEFAULT_CONTEXT_SIZE
) -> dict[str, float | None]:
    """``psnr``, ``roi_psnr``, ``outside_psnr`` and ``context_psnr`` of ``decoded`` against ``original``.

    Without regions the whole image is the region of interest (``roi_psnr``
    equals ``psnr``) and ``outside_psnr``/``context_psnr`` are None; likewise
    None when the regions cover every pixel. ``context_psnr`` is
    :func:`context_psnr` at long side ``context_size``.
    """
    height, width = original.shape[:2]
    psnr = psnr_from_mse(masked_mse(original, decoded))
    if not regions:
        return {"psnr": psnr, "roi_psnr": psnr, "outside_psnr": None, "context_psnr": None}
    inside = region_mask(width, height, regions)
    outside = None if inside.all() else psnr_from_mse(masked_mse(original, decoded, ~inside))
    return {
        "psnr": psnr,
        "roi_psnr": psnr_from_mse(masked_mse(original, decoded, inside)),
        "outside_psnr": outside,
        "context_psnr": context_psnr(original, decoded, regions, context_size),
    }
