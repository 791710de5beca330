"""Shared machinery for scorers that look at CLIP-sized tiles.

A tile scorer only has to embed tiles and text; tiling, softmax scoring and
block aggregation are the core's pure functions, so every tile scorer
follows the paper's steps 1–6 the same way.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from .interfaces import BlockGrid, Box, ScoreMap, Scorer
from .prefilter import scores as score_math
from .prefilter import tiling

DEFAULT_TILE = 224
DEFAULT_TARGET_TILES = 24
DEFAULT_LOGIT_SCALE = 50.0


def tile_grid(width: int, height: int, *, tile: int, target_tiles: int, overlap: bool = True) -> BlockGrid:
    """The block grid the paper's tiling gives for an image of width × height.

    Without overlap (the paper's ablation) the stride is the tile size.
    """
    grid_w, grid_h = tiling.working_size(width, height, tile)
    stride = tiling.choose_stride(grid_w, grid_h, tile, target_tiles) if overlap else tile
    return BlockGrid(stride, (grid_w, grid_h), (width, height))


class TileScorer(Scorer):
    """A Scorer built from an image-tile embedder and a text embedder (CLIP-style)."""

    tile_size = DEFAULT_TILE

    def __init__(self, *, target_tiles: int = DEFAULT_TARGET_TILES, logit_scale: float = DEFAULT_LOGIT_SCALE, overlap: bool = True):
        self.target_tiles = int(target_tiles)
        self.logit_scale = float(logit_scale)
        self.overlap = bool(overlap)

    @abstractmethod
    def embed_tiles(self, tiles: np.ndarray) -> np.ndarray:
        """(n, 3, T, T) CLIP-normalised float32 tiles → (n, d) embeddings."""

    @abstractmethod
    def embed_text(self, text: str) -> np.ndarray:
        """Text → (d,) embedding."""

    def score(self, image: np.ndarray, prompt: str, *, regions: Sequence[Box] = ()) -> ScoreMap:
        height, width = image.shape[:2]
        grid = tile_grid(width, height, tile=self.tile_size, target_tiles=self.target_tiles, overlap=self.overlap)
        resized = tiling.resize(image, grid.grid_size)
        positions = tiling.tile_positions(*grid.grid_size, self.tile_size, grid.block)
        tiles = tiling.extract_tiles(resized, positions, self.tile_size)
        similarities = score_math.cosine_similarities(self.embed_tiles(tiles), self.embed_text(prompt))
        tile_scores = score_math.softmax_scores(similarities, self.logit_scale)
        blocks = score_math.aggregate_blocks(tile_scores, positions, grid.grid_size, self.tile_size, grid.block)
        return ScoreMap(blocks, grid, prompt_used=prompt, tile_scores=tile_scores, tile_positions=positions)
