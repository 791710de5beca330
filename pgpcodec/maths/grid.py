"""Resizing, stride choice and tile extraction (docs/design.md §2 steps 1–3)."""

from __future__ import annotations

import math

import numpy as np

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


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of an (H, W, 3) uint8 image to ``size`` = (width, height)."""
    from PIL import Image

    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))
