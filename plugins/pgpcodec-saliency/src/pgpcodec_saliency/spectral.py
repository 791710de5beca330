"""Spectral-residual saliency (Hou & Zhang, CVPR 2007) as pure numpy/scipy functions.

The log amplitude spectrum of natural images is locally smooth; what sticks
out of its local average (the *spectral residual*) belongs to the parts of
the image that do not look like the rest. Transforming the residual back
with the original phase gives a map that is high on those parts.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
"""ITU-R BT.601 luma, the grey the paper computes saliency on."""

_LOG_FLOOR = 1e-12
"""Added to amplitudes before the log so that empty frequencies stay finite."""


def working_grid_shape(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Block size and (cols, rows) so that the longer side has at most ``max_side`` blocks.

    Blocks are square and whole pixels, so each side is covered by
    ``ceil(side / block)`` blocks: the grid is never smaller than the image.
    """
    if width < 1 or height < 1 or max_side < 1:
        raise ValueError(f"need a positive size and max_side, got {width}x{height}, {max_side}")
    block = max(1, math.ceil(max(width, height) / max_side))
    return block, (math.ceil(width / block), math.ceil(height / block))


def spectral_residual(gray: np.ndarray, *, average: int = 3) -> np.ndarray:
    """Unsmoothed saliency ``|IFFT(exp(R + iP))|²`` of a 2-D grey image.

    ``R`` is the log amplitude minus its ``average``×``average`` local mean
    (the spectrum is periodic, so the mean wraps around), ``P`` the phase.
    """
    spectrum = np.fft.fft2(np.asarray(gray, dtype=np.float64))
    log_amplitude = np.log(np.abs(spectrum) + _LOG_FLOOR)
    residual = log_amplitude - ndimage.uniform_filter(log_amplitude, size=average, mode="wrap")
    return np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2


def saliency_scores(gray: np.ndarray, *, blur: float = 3.0, average: int = 3) -> np.ndarray:
    """Spectral-residual saliency smoothed with a Gaussian of σ = ``blur`` and scaled to mean 1.

    A constant image has no salient part: every score is 1. Scores are
    never negative.
    """
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"need a non-empty 2-D grey image, got shape {gray.shape}")
    if np.ptp(gray) == 0:
        return np.ones_like(gray)
    saliency = spectral_residual(gray, average=average)
    if blur > 0:
        saliency = ndimage.gaussian_filter(saliency, blur, mode="nearest")
    mean = saliency.mean()
    if not np.isfinite(mean) or mean <= 0:
        return np.ones_like(gray)
    return saliency / mean


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB → (H, W) float64 luma in 0–255."""
    return np.asarray(rgb, dtype=np.float64) @ LUMA_WEIGHTS
