"""The plugin kit for scorers that look at CLIP-sized tiles.

A tile scorer only has to embed tiles and text; tiling (:mod:`.maths.grid`),
softmax scoring and block aggregation (:mod:`.maths.scores`) are the core's
pure functions, so every tile scorer follows the paper's steps 1–6 the same
way. :class:`TiledScorer` is what every scorer laid on the paper's tiles
shares (its tiling options and plan), with or without embeddings.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from .defaults import DEFAULT_LOGIT_SCALE, DEFAULT_TARGET_TILES, DEFAULT_TILE, DEFAULT_TILING
from .interfaces import Box, ScoreMap, Scorer
from .maths import scores as score_math
from .maths import grid as grid_math
from .maths.grid import TilePlan, plan_tiles



class TiledScorer(Scorer):
    """A Scorer whose blocks are the paper's tiles: it takes ``target_tiles``, ``overlap`` and ``tiling``.

    ``tiling="proxy"`` scores a downscaled proxy so the tile count stays near
    ``target_tiles`` at any photo size (see :func:`~pgpcodec.maths.grid.proxy_size`);
    the default is the paper's tiling. The bench's no-overlap ablation
    applies to these scorers.
    """

    tile_size = DEFAULT_TILE

    def __init__(self, *, target_tiles: int = DEFAULT_TARGET_TILES, overlap: bool = True, tiling: str = DEFAULT_TILING):
        self.target_tiles = int(target_tiles)
        self.overlap = bool(overlap)
        self.tiling = grid_math.check_tiling(tiling)

    def plan(self, width: int, height: int) -> TilePlan:
        return plan_tiles(
            width, height, tile=self.tile_size, target_tiles=self.target_tiles, overlap=self.overlap, tiling_mode=self.tiling
        )


class TileScorer(TiledScorer):
    """A :class:`TiledScorer` built from an image-tile embedder and a text embedder (CLIP-style).

    ``logit_scale`` is the softmax scale α; a :class:`~pgpcodec.pipeline.Pipeline`
    sets it from its settings (default :data:`~pgpcodec.pipeline.DEFAULT_LOGIT_SCALE`).
    """

    def __init__(
        self,
        *,
        target_tiles: int = DEFAULT_TARGET_TILES,
        logit_scale: float = DEFAULT_LOGIT_SCALE,
        overlap: bool = True,
        tiling: str = DEFAULT_TILING,
    ):
        super().__init__(target_tiles=target_tiles, overlap=overlap, tiling=tiling)
        self.logit_scale = float(logit_scale)

    @abstractmethod
    def embed_tiles(self, tiles: np.ndarray) -> np.ndarray:
        """(n, 3, T, T) CLIP-normalised float32 tiles → (n, d) embeddings."""

    @abstractmethod
    def embed_text(self, text: str) -> np.ndarray:
        """Text → (d,) embedding."""

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
