"""Shared machinery for scorers that look at CLIP-sized tiles.

A tile scorer only has to embed tiles and text; tiling, softmax scoring and
block aggregation are the core's pure functions, so every tile scorer
follows the paper's steps 1–6 the same way.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import UsageError
from .interfaces import BlockGrid, Box, ScoreMap, Scorer
from .defaults import DEFAULT_LOGIT_SCALE, DEFAULT_TARGET_TILES, DEFAULT_TILE, DEFAULT_TILING, TILINGS
from .maths import scores as score_math
from .maths import grid as grid_math


def tile_grid(width: int, height: int, *, tile: int, target_tiles: int, overlap: bool = True) -> BlockGrid:
    """The block grid the paper's tiling gives for an image of width × height.

    Without overlap (the paper's ablation) the stride is the tile size.
    """
    grid_w, grid_h = grid_math.working_size(width, height, tile)
    stride = grid_math.choose_stride(grid_w, grid_h, tile, target_tiles) if overlap else tile
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


def plan_tiles(width: int, height: int, *, tile: int, target_tiles: int, overlap: bool = True, tiling_mode: str = DEFAULT_TILING) -> TilePlan:
    """The tiling of a width × height photo: the paper's (``reference``) or scored on a proxy (``proxy``)."""
    if tiling_mode not in TILINGS:
        raise UsageError(f"unknown tiling {tiling_mode!r}", f"choose one of: {', '.join(TILINGS)}")
    size = (width, height)
    if tiling_mode == "proxy":
        size = proxy_size(width, height, tile=tile, target_tiles=target_tiles, overlap=overlap)
    scored = tile_grid(*size, tile=tile, target_tiles=target_tiles, overlap=overlap)
    if size == (width, height):
        return TilePlan(scored, scored)
    # Blocks scaled back by the proxy's factor (rounded up to whole pixels); BlockGrid maps any rest per axis.
    block = math.ceil(scored.block * width / size[0])
    rows, cols = scored.shape
    return TilePlan(scored, BlockGrid(block, (cols * block, rows * block), (width, height)))


class TileScorer(Scorer):
    """A Scorer built from an image-tile embedder and a text embedder (CLIP-style).

    ``logit_scale`` is the softmax scale α; a :class:`~pgpcodec.prefilter.Prefilter`
    sets it from its settings (default :data:`~pgpcodec.defaults.DEFAULT_LOGIT_SCALE`).
    ``tiling="proxy"`` scores a downscaled proxy so the tile count stays near
    ``target_tiles`` at any photo size (see :func:`proxy_size`); the default
    is the paper's tiling.
    """

    tile_size = DEFAULT_TILE

    def __init__(
        self,
        *,
        target_tiles: int = DEFAULT_TARGET_TILES,
        logit_scale: float = DEFAULT_LOGIT_SCALE,
        overlap: bool = True,
        tiling: str = DEFAULT_TILING,
    ):
        self.target_tiles = int(target_tiles)
        self.logit_scale = float(logit_scale)
        self.overlap = bool(overlap)
        if tiling not in TILINGS:
            raise UsageError(f"unknown tiling {tiling!r}", f"choose one of: {', '.join(TILINGS)}")
        self.tiling = tiling

    @abstractmethod
    def embed_tiles(self, tiles: np.ndarray) -> np.ndarray:
        """(n, 3, T, T) CLIP-normalised float32 tiles → (n, d) embeddings."""

    @abstractmethod
    def embed_text(self, text: str) -> np.ndarray:
        """Text → (d,) embedding."""

    def plan(self, width: int, height: int) -> TilePlan:
        return plan_tiles(
            width, height, tile=self.tile_size, target_tiles=self.target_tiles, overlap=self.overlap, tiling_mode=self.tiling
        )

    def score(self, image: np.ndarray, prompt: str, *, regions: Sequence[Box] = ()) -> ScoreMap:
        height, width = image.shape[:2]
        plan = self.plan(width, height)
        scored = plan.scored
        resized = grid_math.resize(image, scored.grid_size)
        positions = grid_math.tile_positions(*scored.grid_size, self.tile_size, scored.block)
        tiles = grid_math.extract_tiles(resized, positions, self.tile_size)
        similarities = score_math.cosine_similarities(self.embed_tiles(tiles), self.embed_text(prompt))
        tile_scores = score_math.softmax_scores(similarities, self.logit_scale)
        blocks = score_math.aggregate_blocks(tile_scores, positions, scored.grid_size, self.tile_size, scored.block)
        # Tile corners in the units of the reported grid (whole blocks, so exact).
        positions = positions // scored.block * plan.grid.block
        return ScoreMap(blocks, plan.grid, prompt_used=prompt, tile_scores=tile_scores, tile_positions=positions)
