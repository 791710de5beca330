"""Scorers that need no model: ``uniform`` and ``regions``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pgpcodec.errors import InputError
from pgpcodec.interfaces import BlockGrid, Box, ScoreMap, Scorer
from pgpcodec.tile_scorer import TiledScorer


class UniformScorer(TiledScorer):
    """Every block of the paper's tiling scores 1, so every block gets σ_1: the paper's "w/o TinyCLIP" ablation."""

    name = "uniform"
    prompt_guided = False

    def score(self, image: np.ndarray, prompt: str, *, regions: Sequence[Box] = ()) -> ScoreMap:
        height, width = image.shape[:2]
        grid = self.plan(width, height).grid
        return ScoreMap(np.ones(grid.shape), grid, prompt_used=prompt)


def box_distance(width: int, height: int, box: Box) -> np.ndarray:
    """Euclidean distance in pixels from each pixel centre to ``box`` (0 inside): (H, W)."""
    x0, y0, x1, y1 = box
    xs = np.arange(width)
    ys = np.arange(height)
    dx = np.maximum(np.maximum(x0 - xs, xs - (x1 - 1)), 0).astype(np.float32)
    dy = np.maximum(np.maximum(y0 - ys, ys - (y1 - 1)), 0).astype(np.float32)
    return np.sqrt(dy[:, None] ** 2 + dx[None, :] ** 2)


def region_relevance(width: int, height: int, boxes: Sequence[Box], margin: float, ramp: float) -> np.ndarray:
    """1 within ``margin`` pixels of any box, falling linearly to 0 over the next ``ramp`` pixels."""
    distance = np.full((height, width), np.inf, dtype=np.float32)
    for box in boxes:
        np.minimum(distance, box_distance(width, height, box), out=distance)
    if ramp <= 0:
        return (distance <= margin).astype(np.float64)
    return np.clip(1.0 - (distance - margin) / ramp, 0.0, 1.0).astype(np.float64)


def validate_boxes(boxes: Sequence[Box], width: int, height: int) -> list[Box]:
    """Check boxes are inside a width × height image and not empty."""
    checked = []
    for box in boxes:
        if len(box) != 4:
            raise InputError(f"region {box!r} needs four numbers x0,y0,x1,y1")
        x0, y0, x1, y1 = (int(v) for v in box)
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise InputError(
                f"region {x0},{y0},{x1},{y1} is empty or outside the {width}x{height} image",
                "give x0,y0,x1,y1 with 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height (end exclusive)",
            )
        checked.append((x0, y0, x1, y1))
    return checked


class RegionsScorer(Scorer):
    """Relevance from user-marked boxes: untouched inside (plus a margin), smooth ramp outside.

    No tile softmax: a small box keeps σ = 0 however small it is. Scores are
    per pixel on the original image, meant for the linear map with σ_1 = 0,
    so σ is 0 inside and rises linearly to σ_max over ``ramp`` pixels.
    """

    name = "regions"
    prompt_guided = False
    needs_regions = True
    preferred_sigma_map = ("linear", 0.0)

    def __init__(self, *, margin: float = 8.0, ramp: float = 24.0):
        if margin < 0 or ramp < 0:
            raise InputError("regions margin and ramp must be >= 0")
        self.margin = float(margin)
        self.ramp = float(ramp)

    def score(self, image: np.ndarray, prompt: str, *, regions: Sequence[Box] = ()) -> ScoreMap:
        height, width = image.shape[:2]
        if not regions:
            raise InputError("the regions scorer needs at least one region", "give regions as (x0, y0, x1, y1) boxes", parameter="regions")
        boxes = validate_boxes(regions, width, height)
        relevance = region_relevance(width, height, boxes, self.margin, self.ramp)
        return ScoreMap(relevance, BlockGrid(1, (width, height), (width, height)), prompt_used=prompt)
