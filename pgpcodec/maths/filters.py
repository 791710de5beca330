"""The spatially varying Gaussian (docs/design.md §2 step 8) in two profiles.

``reference`` blurs each block of the resized image in isolation with a
fixed k×k kernel, as the paper's code does. ``native`` filters the original
image with σ interpolated smoothly per pixel, a kernel sized to σ, and
σ = 0 pixels copied bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from ..cancel import current_token
from . import blur

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
    token = current_token()
    for r in range(rows):
        if token is not None:
            token.check()
        band = image[r * block : (r + 1) * block].reshape(block, cols, block, channels).transpose(1, 0, 2, 3)
        padded = np.pad(band.astype(np.float64), ((0, 0), (half, half), (half, half), (0, 0)), mode="reflect")
        k = kernels[r][:, :, None, None, None]
        # Vertical pass over each block's padded rows, then horizontal.
        vertical = sum(k[:, j] * padded[:, j : j + block] for j in range(kernel_size))
        out = _round_to_uint8(sum(k[:, j] * vertical[:, :, j : j + block] for j in range(kernel_size)))
        out[~blur[r]] = band[~blur[r]]
        result[r * block : (r + 1) * block] = out.transpose(1, 0, 2, 3).reshape(block, width, channels)
    return result


def _as_channels(image: np.ndarray) -> np.ndarray:
    return image[..., None] if image.ndim == 2 else image


def gaussian_blur(image: np.ndarray, sigma: float, truncate: float = 3.0, *, workers: int | None = None) -> np.ndarray:
    """Separable full-image Gaussian as float32, same shape as ``image``.

    Kernel radius ``int(truncate·σ + 0.5)`` and mirrored borders, as
    ``scipy.ndimage.gaussian_filter1d``; computed tile by tile as banded
    matrix products (see :mod:`.blur`). A kernel wider than the image is
    folded onto it (:func:`.blur.folded_taps`): same result, bounded memory.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    pixels = _as_channels(image)
    height, width = pixels.shape[:2]
    out = np.empty(pixels.shape, dtype=np.float32)
    halo = blur.effective_radius(sigma, truncate, blur.fold_limit(height, width))

    def work(rows: tuple[int, int], cols: tuple[int, int]) -> None:
        source = blur.padded_planar(pixels, rows, cols, halo)
        blurred = blur.blur_window(
            source, halo, (0, rows[1] - rows[0]), (0, cols[1] - cols[0]), sigma, truncate, (height, width)
        )
        out[rows[0] : rows[1], cols[0] : cols[1]] = blurred.transpose(1, 2, 0)

    blur.run_tiles(height, width, work, workers)
    return out.reshape(image.shape)


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


def level_positions(sigma: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Fractional index of each σ among the levels, linear in σ between neighbours: float32.

    The same as ``np.interp(sigma, levels, range(len(levels)))`` for levels
    from :func:`sigma_levels` (optionally 0, then geometric), but found with
    a logarithm instead of a binary search, which is several times faster.
    """
    sigma = np.asarray(sigma, dtype=np.float32)
    positive = levels[levels > 0].astype(np.float32)
    offset = len(levels) - len(positive)
    steps = len(positive) - 1
    if steps == 0:
        position = np.full(sigma.shape, offset, dtype=np.float32)
        if offset:  # between 0 and the only level, linearly
            np.minimum(position, sigma / positive[0], out=position)
        return position
    ratio = (float(positive[-1]) / float(positive[0])) ** (1 / steps)
    with np.errstate(divide="ignore"):
        index = np.log(sigma * np.float32(1 / positive[0]))
    index *= np.float32(1 / math.log(ratio))
    np.floor(index, out=index)
    np.clip(index, 0, steps - 1, out=index)
    # With geometric levels, the level below σ is positive[0]·ratio^index: no table look-up.
    below = np.exp(index * np.float32(math.log(ratio)))
    below *= positive[0]
    position = sigma - below
    below *= np.float32(ratio - 1)  # the gap to the level above
    position /= below
    np.clip(position, 0, 1, out=position)
    position += index
    position += offset
    if offset:  # σ under the first positive level falls between the 0 level and it
        small = sigma < positive[0]
        position[small] = sigma[small] / positive[0]
    return position


def varying_gaussian(
    image: np.ndarray, sigma: np.ndarray, truncate: float = 3.0, ratio: float = 1.5, *, workers: int | None = None
) -> np.ndarray:
    """Blur each pixel of an (H, W, C) uint8 image with its own σ from an (H, W) map.

    Each pixel blends the image blurred at the two σ levels around its own σ
    (linearly in σ; levels from :func:`sigma_levels`, kernel radius ≈ 3σ
    each): no blocks, no seams. Pixels with σ ≤ 1e-6 are copied from the
    input bit for bit; a constant σ map is exactly one :func:`gaussian_blur`.

    The work runs in tiles (strips of rows, cut into column ranges on wide
    images), and in each tile only the levels its pixels use are blurred,
    over the runs of column cells whose pixels use them, so the cost follows
    the σ map rather than the number of levels.
    """
    if sigma.shape != image.shape[:2]:
        raise ValueError(f"sigma map {sigma.shape} does not match image {image.shape[:2]}")
    sigma = np.where(sigma > UNTOUCHED_SIGMA, sigma, 0.0).astype(np.float32)
    levels = sigma_levels(sigma, ratio)
    if not (levels > 0).any():
        return image.copy()
    pixels = _as_channels(image)
    result = np.empty_like(pixels)
    bound = blur.fold_limit(*pixels.shape[:2])  # wider kernels are folded: memory follows the image, not σ
    radii = [blur.effective_radius(level, truncate, bound) if level > 0 else 0 for level in levels]
    # Levels whose kernel rounds to one tap are the image itself: blur them once, as one flat-bottomed hat.
    identity = sum(1 for r in radii if r == 0)

    def work(tile_rows: tuple[int, int], tile_cols: tuple[int, int]) -> None:
        tile = (slice(*tile_rows), slice(*tile_cols))
        tile_sigma = sigma[tile]
        height, width = tile_sigma.shape
        position = level_positions(tile_sigma, levels)
        parts = _tile_levels(position, identity)
        halo = max(radii[i] for i, _, _ in parts)
        source = blur.padded_planar(pixels, tile_rows, tile_cols, halo)

        def level_image(i: int, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
            if radii[i] == 0:
                return source[:, halo + rows[0] : halo + rows[1], halo + cols[0] : halo + cols[1]]
            return blur.blur_window(source, halo, rows, cols, levels[i], truncate, pixels.shape[:2])

        if len({i for i, _, _ in parts}) == 1:  # the hats sum to 1, so a lone level has weight 1 everywhere
            total = np.array(level_image(parts[0][0], (0, height), (0, width)))
        else:
            total = np.zeros((pixels.shape[2], height, width), dtype=np.float32)
            for i, rows, cols in parts:
                box = (slice(*rows), slice(*cols))
                weight = hat_weight(position[box], i, flat_below=i == identity - 1)
                if radii[i] == 0:
                    layer = level_image(i, rows, cols) * weight
                else:
                    layer = level_image(i, rows, cols)
                    layer *= weight
                total[:, box[0], box[1]] += layer
        np.rint(total, out=total)
        np.clip(total, 0, 255, out=total)
        np.copyto(result[tile], total.transpose(1, 2, 0), casting="unsafe")
        untouched = tile_sigma == 0
        if untouched.any():
            np.copyto(result[tile], pixels[tile], where=untouched[..., None])

    blur.run_tiles(*pixels.shape[:2], work, workers)
    return result.reshape(image.shape)


def hat_weight(position: np.ndarray, i: int, *, flat_below: bool = False) -> np.ndarray:
    """Level i's blend weight at each fractional level position (see :func:`level_positions`).

    ``max(0, 1 − |position − i|)``, or 1 everywhere below i when ``flat_below``;
    float32, a new array. The weights of all levels sum to 1.
    """
    weight = position - np.float32(i)
    if flat_below:
        np.maximum(weight, 0, out=weight)
    else:
        np.abs(weight, out=weight)
    np.subtract(1, weight, out=weight)
    return np.maximum(weight, 0, out=weight)


COLUMN_TILE = 64
"""Width of the column cells over which a tile decides which levels to blur where."""


def _tile_levels(position: np.ndarray, identity: int) -> list[tuple[int, tuple[int, int], tuple[int, int]]]:
    """The levels a tile uses, as (level, row range, column range) windows covering the pixels that use it.

    Level i is used where ``|position − i| < 1``; the identity levels
    (indices below ``identity``) count as one level, ``identity − 1``, used
    wherever ``position < identity``. Columns are looked at in cells of
    COLUMN_TILE pixels and each run of cells that use a level is one window,
    so a level used at both ends of a tile is not blurred in between.
    """
    height, width = position.shape
    n_tiles = -(-width // COLUMN_TILE)
    padded = np.pad(position, ((0, 0), (0, n_tiles * COLUMN_TILE - width)), mode="edge")
    cells = padded.reshape(height, n_tiles, COLUMN_TILE)
    cell_low, cell_high = cells.min(axis=2), cells.max(axis=2)  # per row and column tile
    first = max(int(np.floor(cell_low.min())), identity - 1, 0)
    last = max(int(np.ceil(cell_high.max())), first)  # a tile all below the identity levels still uses them
    windows = []
    for i in range(first, last + 1):
        below = -np.inf if i == identity - 1 else i - 1
        used = (cell_low < i + 1) & (cell_high > below)
        edges = np.flatnonzero(np.diff(np.concatenate([[False], used.any(axis=0), [False]]).astype(np.int8)))
        for start, stop in zip(edges[::2], edges[1::2]):
            rows = np.flatnonzero(used[:, start:stop].any(axis=1))
            cols = (int(start) * COLUMN_TILE, min(width, int(stop) * COLUMN_TILE))
            windows.append((i, (int(rows[0]), int(rows[-1]) + 1), cols))
    return windows


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
    # Separably: along x on the few block rows, then along y on full rows (fewest full-size passes).
    across = v[:, x0] * (1 - wx) + v[:, x1] * wx
    out = across[y0]
    out *= (1 - wy)[:, None]
    lower = across[y1]
    lower *= wy[:, None]
    out += lower
    return out


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
