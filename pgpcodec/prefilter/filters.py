"""The spatially varying Gaussian (DESIGN.md §2 step 8) in two profiles.

``reference`` blurs each block of the resized image in isolation with a
fixed k×k kernel, as the paper's code does. ``native`` filters the original
image with σ interpolated smoothly per pixel, a kernel sized to σ, and
σ = 0 pixels copied bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

UNTOUCHED_SIGMA = 1e-6
"""σ at or below this leaves a pixel untouched (the reference's threshold)."""


def gaussian_kernel(sigma: float, size: int) -> np.ndarray:
    """Normalised 1-D Gaussian taps centred on an odd ``size``, as OpenCV's getGaussianKernel."""
    if size % 2 != 1:
        raise ValueError("kernel size must be odd")
    offsets = np.arange(size) - (size - 1) / 2
    taps = np.exp(-(offsets**2) / (2.0 * sigma * sigma))
    return taps / taps.sum()


def _round_to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def blockwise_gaussian(image: np.ndarray, block_sigma: np.ndarray, block: int, kernel_size: int) -> np.ndarray:
    """Blur each block×block block with its own σ, reflecting at the block's own borders.

    ``image`` is (rows·block, cols·block, C) uint8 and ``block_sigma`` is
    (rows, cols). Blocks with σ ≤ 1e-6 are copied unchanged. Border handling
    is OpenCV's default (reflect-101), as in the reference's cv2.GaussianBlur.
    """
    rows, cols = block_sigma.shape
    height, width, channels = image.shape
    if (height, width) != (rows * block, cols * block):
        raise ValueError(f"image {width}x{height} is not {cols}x{rows} blocks of {block}")
    # A kernel wider than the block is fine: np.pad's reflect mode mirrors
    # again and again, as OpenCV's reflect-101 border does (small images get
    # 56-pixel blocks whatever --kernel-size says).
    half = kernel_size // 2
    sigma = np.asarray(block_sigma, dtype=np.float64)
    blur = sigma > UNTOUCHED_SIGMA
    # (rows, cols, k): one kernel per block; untouched blocks get a delta.
    kernels = np.zeros((rows, cols, kernel_size))
    kernels[..., half] = 1.0
    for r, c in zip(*np.nonzero(blur)):
        kernels[r, c] = gaussian_kernel(sigma[r, c], kernel_size)
    result = np.empty_like(image)
    # One row of blocks at a time bounds the float64 working set to a band of the image.
    for r in range(rows):
        band = image[r * block : (r + 1) * block].reshape(block, cols, block, channels).transpose(1, 0, 2, 3)
        padded = np.pad(band.astype(np.float64), ((0, 0), (half, half), (half, half), (0, 0)), mode="reflect")
        k = kernels[r][:, :, None, None, None]
        # Vertical pass over each block's padded rows, then horizontal.
        vertical = sum(k[:, j] * padded[:, j : j + block] for j in range(kernel_size))
        out = _round_to_uint8(sum(k[:, j] * vertical[:, :, j : j + block] for j in range(kernel_size)))
        out[~blur[r]] = band[~blur[r]]
        result[r * block : (r + 1) * block] = out.transpose(1, 0, 2, 3).reshape(block, width, channels)
    return result


def gaussian_blur(image: np.ndarray, sigma: float, truncate: float = 3.0) -> np.ndarray:
    """Separable full-image Gaussian (float32), kernel radius ⌈truncate·σ⌉, mirrored borders."""
    from scipy.ndimage import gaussian_filter1d

    out = gaussian_filter1d(image, sigma, axis=0, mode="reflect", truncate=truncate, output=np.float32)
    return gaussian_filter1d(out, sigma, axis=1, mode="reflect", truncate=truncate, output=np.float32)


def sigma_levels(sigma: np.ndarray, ratio: float = 1.5) -> np.ndarray:
    """σ values at which the image is blurred: 0 (if needed), then geometric from min to max σ.

    The smallest and largest positive σ are always levels, so a constant σ
    field is one exact blur.
    """
    positive = sigma[sigma > UNTOUCHED_SIGMA]
    levels = [0.0] if positive.size < sigma.size else []
    if positive.size:
        low, high = float(positive.min()), float(positive.max())
        steps = max(1, math.ceil(math.log(high / low) / math.log(ratio))) if high > low else 0
        levels += list(low * (high / low) ** (np.arange(steps + 1) / max(steps, 1)))
    return np.array(levels)


def varying_gaussian(image: np.ndarray, sigma: np.ndarray, truncate: float = 3.0, ratio: float = 1.5) -> np.ndarray:
    """Blur each pixel of an (H, W, C) uint8 image with its own σ from an (H, W) map.

    The image is blurred once per σ level (kernel radius ⌈3σ⌉ each) and each
    pixel blends its two nearest levels linearly in σ: no blocks, no seams.
    Pixels with σ ≤ 1e-6 are copied from the input bit for bit.
    """
    if sigma.shape != image.shape[:2]:
        raise ValueError(f"sigma map {sigma.shape} does not match image {image.shape[:2]}")
    sigma = np.where(sigma > UNTOUCHED_SIGMA, sigma, 0.0).astype(np.float32)
    levels = sigma_levels(sigma, ratio)
    if not (levels > 0).any():
        return image.copy()
    source = image.astype(np.float32)
    out = np.zeros_like(source)
    for i, level in enumerate(levels):
        weight = _hat_weight(sigma, levels, i)
        if not weight.any():
            continue
        blurred = gaussian_blur(source, level, truncate) if level > 0 else source
        out += weight[..., None] * blurred
    result = _round_to_uint8(out)
    untouched = sigma == 0
    result[untouched] = image[untouched]
    return result


def _hat_weight(sigma: np.ndarray, levels: np.ndarray, i: int) -> np.ndarray:
    """Linear-interpolation weight of level ``i`` for each σ (a hat over its neighbours)."""
    weight = np.zeros_like(sigma)
    level = levels[i]
    if i > 0:
        below = levels[i - 1]
        mask = (sigma > below) & (sigma <= level)
        weight[mask] = (sigma[mask] - below) / (level - below)
    else:
        weight[sigma <= level] = 1.0
    if i + 1 < len(levels):
        above = levels[i + 1]
        mask = (sigma > level) & (sigma < above)
        weight[mask] = (above - sigma[mask]) / (above - level)
    else:
        weight[sigma > level] = 1.0
    return weight


def block_centre_interpolation(values: np.ndarray, block: int, grid_size: tuple[int, int], image_size: tuple[int, int]) -> np.ndarray:
    """Bilinear interpolation of per-block values, anchored at block centres, onto every image pixel.

    ``values`` is (rows, cols) over a grid of ``grid_size`` (width, height);
    the result is (H, W) for ``image_size`` (width, height). Beyond the
    outermost centres the edge values are held.
    """
    rows, cols = values.shape
    grid_w, grid_h = grid_size
    width, height = image_size

    def axis(n_out: int, n_grid: int, n_blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = (np.arange(n_out) + 0.5) * (n_grid / n_out) / block - 0.5
        pos = np.clip(pos, 0, n_blocks - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n_blocks - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    y0, y1, wy = axis(height, grid_h, rows)
    x0, x1, wx = axis(width, grid_w, cols)
    v = np.asarray(values, dtype=np.float32)
    top = v[y0][:, x0] * (1 - wx) + v[y0][:, x1] * wx
    bottom = v[y1][:, x0] * (1 - wx) + v[y1][:, x1] * wx
    return top * (1 - wy[:, None]) + bottom * wy[:, None]


def min_pool_to_grid(values: np.ndarray, block: int, grid_size: tuple[int, int]) -> np.ndarray:
    """Smallest per-pixel value inside each block of a grid laid over the (possibly resized) image.

    ``values`` is (H, W) at the original size; the grid has ``grid_size``
    (width, height) in pixels and square blocks of ``block``. A block takes
    the minimum over every original pixel it overlaps, so a block touching a
    σ = 0 pixel gets σ = 0.
    """
    height, width = values.shape
    grid_w, grid_h = grid_size
    rows, cols = grid_h // block, grid_w // block

    def spans(n_orig: int, n_grid: int, n_blocks: int) -> list[tuple[int, int]]:
        edges = np.arange(n_blocks + 1) * block * (n_orig / n_grid)
        return [(int(math.floor(a)), max(int(math.ceil(b)), int(math.floor(a)) + 1)) for a, b in zip(edges[:-1], edges[1:])]

    out = np.empty((rows, cols), dtype=np.float64)
    for r, (ya, yb) in enumerate(spans(height, grid_h, rows)):
        band = values[ya:yb].min(axis=0)
        for c, (xa, xb) in enumerate(spans(width, grid_w, cols)):
            out[r, c] = band[xa:xb].min()
    return out
