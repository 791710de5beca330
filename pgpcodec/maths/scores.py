"""Tile scores and their aggregation onto blocks (docs/design.md §2 steps 5–6)."""

from __future__ import annotations

import numpy as np


def cosine_similarities(image_embeddings: np.ndarray, text_embedding: np.ndarray) -> np.ndarray:
    """Cosine similarity of each image embedding (n, d) with one text embedding (d,)."""
    images = np.asarray(image_embeddings, dtype=np.float64)
    text = np.asarray(text_embedding, dtype=np.float64).reshape(-1)
    images = images / np.linalg.norm(images, axis=1, keepdims=True)
    text = text / np.linalg.norm(text)
    return images @ text


def softmax_scores(similarities: np.ndarray, logit_scale: float) -> np.ndarray:
    """``softmax(logit_scale * sim) * n``: positive, mean 1, sum n."""
    logits = logit_scale * np.asarray(similarities, dtype=np.float64)
    weights = np.exp(logits - logits.max())
    return weights / weights.sum() * len(weights)


def aggregate_blocks(
    tile_scores: np.ndarray, positions: np.ndarray, grid_size: tuple[int, int], tile: int, stride: int
) -> np.ndarray:
    """Mean score of the tiles covering each stride×stride block: (rows, cols).

    ``grid_size`` (width, height) must be whole multiples of ``stride``, and
    ``tile`` a multiple of ``stride``; every block must be covered.
    """
    width, height = grid_size
    if width % stride or height % stride or tile % stride:
        raise ValueError("grid size and tile size must be multiples of the stride")
    rows, cols = height // stride, width // stride
    span = tile // stride
    total = np.zeros((rows, cols))
    count = np.zeros((rows, cols))
    for (x, y), score in zip(positions, tile_scores):
        r, c = y // stride, x // stride
        total[r : r + span, c : c + span] += score
        count[r : r + span, c : c + span] += 1
    if (count == 0).any():
        raise ValueError("some blocks are covered by no tile")
    return total / count
