"""Deterministic sample images for tests: photo-like content in any size and Pillow mode."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

SAMPLE_MODES = ("RGB", "RGBA", "L", "LA", "P", "1", "I;16", "CMYK")
"""Pillow modes a loader or codec meets in the wild."""


def sample_image(width: int, height: int, *, seed: int = 0) -> np.ndarray:
    """An (H, W, 3) uint8 RGB image with smooth gradients, a few sharp shapes and mild noise.

    Smooth parts, edges and texture together exercise scorers and codecs
    the way a photo does; the same arguments always give the same pixels.
    Each call returns a new array that the caller may modify.
    """
    return _cached_sample(width, height, seed).copy()


@functools.lru_cache(maxsize=4)
def _cached_sample(width: int, height: int, seed: int) -> np.ndarray:
    """Big samples take seconds to draw; contract suites ask for the same ones again."""
    if width < 1 or height < 1:
        raise ValueError(f"need a positive size, got {width}x{height}")
    rng = np.random.default_rng(seed)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    image = np.empty((height, width, 3), dtype=np.float32)
    image[..., 0] = 200 * xs + 30 * np.sin(6 * ys)
    image[..., 1] = 180 * ys + 40 * np.cos(5 * xs)
    image[..., 2] = 120 + 80 * np.sin(4 * (xs + ys))
    for _ in range(3):
        cx, cy = rng.random(2)
        radius = 0.05 + 0.15 * rng.random()
        inside = (xs - cx) ** 2 + (ys - cy) ** 2 < radius**2
        image[inside] = rng.integers(0, 256, 3)
    image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(6.0)
    result = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    result.flags.writeable = False
    return result


def sample_file(path: str | Path, width: int = 64, height: int = 48, *, mode: str = "RGB", seed: int = 0) -> Path:
    """Write :func:`sample_image` in Pillow ``mode`` to ``path`` (format from the suffix)."""
    from PIL import Image

    path = Path(path)
    image = Image.fromarray(sample_image(width, height, seed=seed))
    if mode == "I;16":
        image = Image.fromarray((np.asarray(image.convert("L"), dtype=np.uint16) * 257))
    elif mode == "P":
        image = image.quantize(64)
    elif mode != "RGB":
        image = image.convert(mode)
    image.save(path)
    return path
