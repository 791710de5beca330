"""Separable Gaussian blurs computed as banded matrix products, tile by tile.

A 1-D convolution with a truncated Gaussian is a product with a banded
Toeplitz matrix. Done in blocks (a strip of rows, a chunk of columns), the
product runs in BLAS sgemm, which on a CPU is several times faster than a
tap-by-tap loop (scipy.ndimage) even though it multiplies by the band's
zeros too. Working tile by tile keeps memory flat at any image size.

Conventions match ``scipy.ndimage.gaussian_filter1d``: kernel radius
``int(truncate * sigma + 0.5)``, borders mirrored with the edge pixel
repeated (scipy's ``reflect``), float32 arithmetic.

A kernel wider than the image costs no more than one as wide as the image.
Mirrored borders make the extended signal of an axis of ``n`` pixels periodic
with period ``2n``, so taps that are ``2n`` apart always multiply the same
pixel: adding them together (:func:`folded_taps`) gives a kernel of radius at
most ``n`` with exactly the same result (up to float rounding), instead of
padding the image by 3σ on every side. Work and memory then follow the image
size, not σ.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

STRIP_ROWS = 64
"""Output rows per tile: the vertical pass costs STRIP_ROWS + 2r multiply-adds per sample."""
TILE_COLUMNS = 1024
"""Widest tile: wider images are cut into equal column ranges, so a tile's buffers stay in cache."""
MIN_CHUNK = 32
"""Smallest column chunk of the horizontal pass, which costs chunk + 2r multiply-adds per sample."""


def kernel_radius(sigma: float, truncate: float) -> int:
    """Half-width of the truncated kernel, as scipy.ndimage rounds it."""
    return int(truncate * float(sigma) + 0.5)


@lru_cache(maxsize=256)
def gaussian_taps(sigma: float, truncate: float) -> np.ndarray:
    """Normalised float32 taps of a Gaussian truncated at ``truncate`` σ: length 2r + 1."""
    radius = kernel_radius(sigma, truncate)
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    taps.flags.writeable = False
    return taps


def fold_limit(height: int, width: int) -> int:
    """Largest kernel radius worth using on an image: its longer side (see :func:`folded_taps`)."""
    return max(height, width)


def effective_radius(sigma: float, truncate: float, bound: int | None = None) -> int:
    """The kernel radius, at most ``bound`` (a :func:`fold_limit`) when one is given."""
    radius = kernel_radius(sigma, truncate)
    return radius if bound is None else min(radius, bound)


@lru_cache(maxsize=256)
def folded_taps(sigma: float, truncate: float, n: int | None = None, radius: int | None = None) -> np.ndarray:
    """The taps for an axis of ``n`` mirrored pixels, as ``2·radius + 1`` taps.

    Without ``n`` (or when the kernel already fits in ``radius``) these are
    :func:`gaussian_taps`, zero-padded to ``radius``. Otherwise (the kernel is
    wider than ``radius``, which is at least ``n``) every tap is added to the
    one at the same offset modulo ``2n`` within ``-n … n`` — the mirrored
    signal repeats every ``2n`` pixels, so the sum is the same — and the
    weight at ±n, one pixel seen from both sides, is split between the two.
    """
    taps = gaussian_taps(sigma, truncate)
    full = len(taps) // 2
    radius = full if radius is None else radius
    if n is None or full <= radius:
        if full > radius:
            raise ValueError(f"kernel radius {full} exceeds {radius}")
        out = np.zeros(2 * radius + 1, dtype=np.float32)
        out[radius - full : radius + full + 1] = taps
        out.flags.writeable = False
        return out
    if radius < n:
        raise ValueError(f"a kernel folded for {n} pixels needs a radius of at least {n}, got {radius}")
    period = 2 * n
    residue = np.mod(np.arange(-full, full + 1), period)  # 0 … 2n-1
    folded = np.zeros(period, dtype=np.float64)
    np.add.at(folded, residue, taps.astype(np.float64))
    out = np.zeros(2 * radius + 1, dtype=np.float64)
    offsets = np.arange(-n + 1, n)  # each residue but n once, at its offset nearest 0
    out[radius + offsets] = folded[np.mod(offsets, period)]
    out[radius - n] += folded[n] / 2
    out[radius + n] += folded[n] / 2
    out = out.astype(np.float32)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=256)
def band_matrix(sigma: float, truncate: float, n_out: int, n: int | None = None, radius: int | None = None) -> np.ndarray:
    """(n_out, n_out + 2r) matrix whose row j holds the taps at columns j … j + 2r.

    With ``n`` and ``radius``, the taps are :func:`folded_taps` for an axis of ``n`` pixels.
    """
    taps = gaussian_taps(sigma, truncate) if n is None and radius is None else folded_taps(sigma, truncate, n, radius)
    width = len(taps)
    band = np.zeros((n_out, n_out + width - 1), dtype=np.float32)
    # Row j's taps start at column j: a strided view writes every row at once.
    rows = np.lib.stride_tricks.as_strided(band, shape=(n_out, width), strides=(band.strides[0] + band.strides[1], band.strides[1]))
    rows[:] = taps
    band.flags.writeable = False
    return band


def reflect_indices(start: int, stop: int, n: int) -> np.ndarray:
    """Indices ``start … stop-1`` folded into ``0 … n-1`` by mirroring (``d c b a | a b c d``), any overhang."""
    period = 2 * n
    idx = np.mod(np.arange(start, stop), period)
    return np.where(idx >= n, period - 1 - idx, idx)


def padded_planar(image: np.ndarray, rows: tuple[int, int], cols: tuple[int, int], halo: int) -> np.ndarray:
    """A window of an (H, W, C) image plus ``halo`` pixels on every side, as float32 (C, h, w).

    Outside the image the pixels are mirrored (scipy's ``reflect``); inside,
    the halo is the image's own neighbouring pixels.
    """
    height, width, channels = image.shape
    row_index = reflect_indices(rows[0] - halo, rows[1] + halo, height)
    start, stop = cols[0] - halo, cols[1] + halo
    planar = np.empty((channels, len(row_index), stop - start), dtype=np.float32)
    if halo > width:  # the mirror folds more than once: gather every column
        gathered = image[row_index][:, reflect_indices(start, stop, width)]
        np.copyto(planar, gathered.transpose(2, 0, 1), casting="unsafe")
        return planar
    low, high = max(0, start), min(width, stop)
    np.copyto(planar[:, :, low - start : high - start], image[row_index, low:high].transpose(2, 0, 1), casting="unsafe")
    # Mirror the columns beyond the image's sides from the converted ones: a small gather instead of a full one.
    if start < 0:
        planar[:, :, : low - start] = planar[:, :, reflect_indices(start, 0, width) - start]
    if stop > width:
        planar[:, :, high - start :] = planar[:, :, reflect_indices(width, stop, width) - start]
    return planar


def blur_window(
    source: np.ndarray,
    halo: int,
    rows: tuple[int, int],
    cols: tuple[int, int],
    sigma: float,
    truncate: float,
    image_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Blur a window of a halo-padded planar tile: (C, rows, cols) float32.

    ``source`` is (C, h + 2·halo, w + 2·halo); ``rows`` and ``cols`` are
    ranges in unpadded tile coordinates. The kernel radius must not exceed
    ``halo``. With the whole image's ``image_size`` (height, width), a kernel
    wider than the image is folded (:func:`folded_taps`) to radius
    :func:`fold_limit`, which is then all the halo it needs.
    """
    if image_size is None:
        radius = kernel_radius(sigma, truncate)
        vertical_taps = horizontal_taps = (None, None)
    else:
        radius = effective_radius(sigma, truncate, fold_limit(*image_size))
        vertical_taps, horizontal_taps = (image_size[0], radius), (image_size[1], radius)
    if radius > halo:
        raise ValueError(f"kernel radius {radius} exceeds the halo {halo}")
    (a, b), (c, d) = rows, cols
    n_rows, n_cols = b - a, d - c
    channels = source.shape[0]
    window = source[:, halo + a - radius : halo + b + radius, halo + c - radius : halo + d + radius]
    vertical = np.matmul(band_matrix(sigma, truncate, n_rows, *vertical_taps), window)  # (C, n_rows, n_cols + 2r)
    # Horizontal pass: cut the columns into equal chunks that overlap by 2r, one sgemm for all of them.
    n_chunks = max(1, round(n_cols / max(MIN_CHUNK, 2 * radius)))
    chunk = -(-n_cols // n_chunks)
    span = n_chunks * chunk + 2 * radius
    if span > vertical.shape[2]:
        vertical = np.concatenate(
            [vertical, np.zeros((channels, n_rows, span - vertical.shape[2]), dtype=np.float32)], axis=2
        )
    if n_chunks == 1:
        stacked = vertical.reshape(-1, span)
    else:
        windows = np.lib.stride_tricks.sliding_window_view(vertical, chunk + 2 * radius, axis=2)[:, :, ::chunk]
        stacked = np.ascontiguousarray(windows).reshape(-1, chunk + 2 * radius)
    horizontal = stacked @ band_matrix(sigma, truncate, chunk, *horizontal_taps).T  # (C·n_rows·n_chunks, chunk)
    return horizontal.reshape(channels, n_rows, n_chunks * chunk)[:, :, :n_cols]


Tile = tuple[tuple[int, int], tuple[int, int]]
"""((y0, y1), (x0, x1)) of a tile, ends exclusive."""


def tiles(height: int, width: int) -> list[Tile]:
    """Row strips of STRIP_ROWS, each cut into equal column ranges no wider than TILE_COLUMNS."""
    n_cols = -(-width // TILE_COLUMNS)
    step = -(-width // n_cols)
    columns = [(x0, min(width, x0 + step)) for x0 in range(0, width, step)]
    return [((y0, min(height, y0 + STRIP_ROWS)), cols) for y0 in range(0, height, STRIP_ROWS) for cols in columns]


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS on one thread inside the block, restoring the setting when the last user leaves.

    The tiles are small products: a multi-threaded BLAS spends more time
    waking and waiting for its threads than multiplying, badly so on a busy
    machine. Parallelism comes from running tiles on worker threads instead.
    """
    global _blas_users, _blas_limiter
    with _blas_lock:
        if _blas_users == 0:
            from threadpoolctl import threadpool_limits

            _blas_limiter = threadpool_limits(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


def default_workers() -> int:
    """Worker threads for tiles: the CPUs this process may use, at most 4."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(4, available))


def run_tiles(height: int, width: int, work: Callable[[tuple[int, int], tuple[int, int]], None], workers: int | None = None) -> None:
    """Call ``work(rows, cols)`` for every tile, on worker threads, with single-threaded BLAS.

    Before each tile the calling thread's cancel token (:mod:`pgpcodec.cancel`)
    is checked, so cancelled work stops within one tile per worker.
    """
    from ..cancel import current_token

    spans = tiles(height, width)
    workers = min(workers or default_workers(), len(spans))
    token = current_token()

    def checked(rows: tuple[int, int], cols: tuple[int, int]) -> None:
        if token is not None:
            token.check()
        work(rows, cols)

    with single_threaded_blas():
        if workers <= 1:
            for rows, cols in spans:
                checked(rows, cols)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(checked, rows, cols) for rows, cols in spans]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
