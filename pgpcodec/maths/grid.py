"""Grid geometry: the paper's tiling (working size, stride, tile positions), the proxy tiling,
block grids and tile plans, tile extraction and resizing (docs/design.md §2 steps 1–3).

Pure functions of sizes and arrays; :mod:`pgpcodec.tile_scorer` and the
``reference`` filter profile call them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..defaults import TILINGS
from ..errors import UsageError
from ..interfaces import BlockGrid

REFERENCE_TILING, PROXY_TILING = TILINGS
"""``reference``: the paper's tiling, the tile count grows with the photo's area. ``proxy``: tiles cut
from a downscaled proxy, so the tile count stays near the target at any photo size."""

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def working_size(width: int, height: int, tile: int) -> tuple[int, int]:
    """The size the image is resized to: each side rounded up to a whole number of tiles."""
    return (math.ceil(width / tile) * tile, math.ceil(height / tile) * tile)


def estimated_tile_count(width: int, height: int, tile: int, stride: int) -> int:
    """Tile count as the reference estimates it when choosing a stride.

    It overestimates by one per axis when a side is exactly one tile long
    (``max(1, 0) + 1``); kept as is so the chosen stride matches the paper.
    """
    across = max(1, math.ceil((width - tile) / stride)) + 1
    down = max(1, math.ceil((height - tile) / stride)) + 1
    return across * down


def candidate_strides(tile: int) -> list[int]:
    return [tile // 4, tile // 2, tile]


def choose_stride(width: int, height: int, tile: int, target_tiles: int) -> int:
    """The stride among T/4, T/2, T whose estimated tile count is closest to the target.

    Ties go to the larger stride (the reference scans small to large with ``<=``).
    ``width`` and ``height`` are the working (resized) size.
    """
    best, best_diff = None, math.inf
    for stride in candidate_strides(tile):
        diff = abs(estimated_tile_count(width, height, tile, stride) - target_tiles)
        if diff <= best_diff:
            best, best_diff = stride, diff
    return best


def tile_grid(width: int, height: int, *, tile: int, target_tiles: int, overlap: bool = True) -> BlockGrid:
    """The block grid the paper's tiling gives for an image of width × height.

    Without overlap (the paper's ablation) the stride is the tile size.
    """
    grid_w, grid_h = working_size(width, height, tile)
    stride = choose_stride(grid_w, grid_h, tile, target_tiles) if overlap else tile
    return BlockGrid(stride, (grid_w, grid_h), (width, height))


def tile_count(grid: BlockGrid, tile: int) -> int:
    """How many tiles the sliding window cuts from a grid's working image."""
    (grid_w, grid_h), stride = grid.grid_size, grid.block
    return ((grid_w - tile) // stride + 1) * ((grid_h - tile) // stride + 1)


def proxy_size(width: int, height: int, *, tile: int, target_tiles: int, overlap: bool = True) -> tuple[int, int]:
    """The size to score a photo at so that its tile count stays near ``target_tiles``.

    In the paper's tiling the tile count grows with the photo's area (about
    250 tiles at 12 MP). When it exceeds the target, the candidates are the
    photo itself and every downscale with one side a whole number of tiles;
    the one whose tile count is closest to the target wins, ties going to
    the larger size, as the paper's stride choice does. A photo the paper
    tiles with at most ``target_tiles`` tiles is scored as it is.
    """

    def count(size: tuple[int, int]) -> int:
        return tile_count(tile_grid(*size, tile=tile, target_tiles=target_tiles, overlap=overlap), tile)

    if count((width, height)) <= target_tiles:
        return (width, height)
    candidates = {(width, height)}
    for side in (width, height):
        for k in range(1, -(-side // tile)):
            scale = k * tile / side
            candidates.add((max(1, round(width * scale)), max(1, round(height * scale))))
    return min(candidates, key=lambda size: (abs(count(size) - target_tiles), -size[0] * size[1]))


@dataclass(frozen=True)
class TilePlan:
    """Where tiles are cut and where their scores land.

    ``scored`` is the block grid over the image the tiles are cut from (the
    photo's working image, or a downscaled proxy's); ``grid`` is the same
    blocks in full-resolution units, with the photo's size as image size, so
    block σ keeps the meaning it has in the paper's tiling: pixels of a
    working image about the photo's own size.
    """

    scored: BlockGrid
    grid: BlockGrid


def check_tiling(tiling_mode: str) -> str:
    """``tiling_mode`` if it is one of :data:`TILINGS`, else a UsageError."""
    if tiling_mode not in TILINGS:
        raise UsageError(f"unknown tiling {tiling_mode!r}", f"choose one of: {', '.join(TILINGS)}")
    return tiling_mode


def plan_tiles(
    width: int, height: int, *, tile: int, target_tiles: int, overlap: bool = True, tiling_mode: str = REFERENCE_TILING
) -> TilePlan:
    """The tiling of a width × height photo: the paper's (``reference``) or scored on a proxy (``proxy``)."""
    size = (width, height)
    if check_tiling(tiling_mode) == PROXY_TILING:
        size = proxy_size(width, height, tile=tile, target_tiles=target_tiles, overlap=overlap)
    scored = tile_grid(*size, tile=tile, target_tiles=target_tiles, overlap=overlap)
    if size == (width, height):
        return TilePlan(scored, scored)
    # Blocks scaled back by the proxy's factor (rounded up to whole pixels); BlockGrid maps any rest per axis.
    block = math.ceil(scored.block * width / size[0])
    rows, cols = scored.shape
    return TilePlan(scored, BlockGrid(block, (cols * block, rows * block), (width, height)))


def tile_positions(width: int, height: int, tile: int, stride: int) -> np.ndarray:
    """Top-left (x, y) of every sliding-window tile, row by row; shape (n, 2)."""
    xs = np.arange(0, width - tile + 1, stride)
    ys = np.arange(0, height - tile + 1, stride)
    grid_y, grid_x = np.meshgrid(ys, xs, indexing="ij")
    return np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)


def extract_tiles(image: np.ndarray, positions: np.ndarray, tile: int) -> np.ndarray:
    """Cut tiles from an (H, W, 3) uint8 image and CLIP-normalise them: (n, 3, T, T) float32."""
    tiles = np.empty((len(positions), 3, tile, tile), dtype=np.float32)
    scale = (1.0 / (255.0 * CLIP_STD)).reshape(3, 1, 1)
    offset = (CLIP_MEAN / CLIP_STD).reshape(3, 1, 1)
    for i, (x, y) in enumerate(positions):
        patch = image[y : y + tile, x : x + tile].transpose(2, 0, 1)
        np.multiply(patch, scale, out=tiles[i], casting="unsafe")
        tiles[i] -= offset
    return tiles


RESAMPLING = ("bicubic", "bilinear", "lanczos")


def resize(image: np.ndarray, size: tuple[int, int], resample: str = "bicubic", *, reducing_gap: float | None = None) -> np.ndarray:
    """Resize an (H, W, 3) uint8 image to ``size`` = (width, height) with Pillow's ``resample`` filter.

    An image already of that size is returned as it is. ``reducing_gap`` is
    Pillow's: a box reduction by a whole factor first, then the filter for
    the rest (None: the filter alone).
    """
    from PIL import Image

    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    filters = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR, "lanczos": Image.Resampling.LANCZOS}
    return np.asarray(Image.fromarray(image).resize(tuple(size), filters[resample], reducing_gap=reducing_gap))
