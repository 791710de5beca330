"""Score → σ maps (docs/design.md §2 step 7). ``s`` is the block score, σ_1 the σ at s = 1."""

from __future__ import annotations

import numpy as np


def _check(sigma_max: float, sigma_one: float, *, positive_one: bool) -> None:
    if not 0 <= sigma_one <= sigma_max:
        raise ValueError(f"need 0 <= sigma_one <= sigma_max, got sigma_one={sigma_one}, sigma_max={sigma_max}")
    if positive_one and sigma_one <= 0:
        raise ValueError("this sigma map needs sigma_one > 0")


def exponential(scores: np.ndarray, sigma_max: float, sigma_one: float) -> np.ndarray:
    """σ = σ_1 · (σ_max/σ_1)^(1 − s), the paper's default."""
    _check(sigma_max, sigma_one, positive_one=True)
    return sigma_one * (sigma_max / sigma_one) ** (1.0 - np.asarray(scores, dtype=np.float64))


def linear(scores: np.ndarray, sigma_max: float, sigma_one: float) -> np.ndarray:
    """σ = max(0, σ_max − (σ_max − σ_1) · s)."""
    _check(sigma_max, sigma_one, positive_one=False)
    return np.maximum(0.0, sigma_max - (sigma_max - sigma_one) * np.asarray(scores, dtype=np.float64))


def reciprocal(scores: np.ndarray, sigma_max: float, sigma_one: float) -> np.ndarray:
    """σ = σ_max·σ_1 / (s · (σ_max − σ_1) + σ_1)."""
    _check(sigma_max, sigma_one, positive_one=True)
    s = np.asarray(scores, dtype=np.float64)
    return sigma_max * sigma_one / (s * (sigma_max - sigma_one) + sigma_one)
