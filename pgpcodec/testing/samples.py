"""Deterministic sample pictures for tests: photo-like content in any size and Pillow mode."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

SAMPLE_MODES = ("RGB", "1", "L", "LA", "RGBA", "P", "I;16", "CMYK")
"""Pillow modes a loader or codec meets in the wild."""


def sample_image(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A deterministic photo-like test picture: smooth colour ramps, an edge and mild noise.

    The same arguments always give the same pixels; each call returns a
    new (H, W, 3) uint8 array that the caller may modify.
    """
    return _cached_sample(width, height, seed).copy()


@functools.lru_cache(maxsize=4)
def _cached_sample(width: int, height: int, seed: int) -> np.ndarray:
    """Drawing a 12 MP sample takes seconds; contract suites ask for the same ones again."""
    if width < 1 or height < 1:
        raise ValueError(f"need a positive size, got {width}x{height}")
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    fx, fy = x / max(width - 1, 1), y / max(height - 1, 1)
    red = 200 * fx + 30
    green = 180 * fy + 40 * np.sin(6 * fx)
    blue = np.where(fx + fy > 1.0, 190.0, 60.0)
    image = np.stack([red, green, blue], axis=-1) + rng.normal(0, 4, (height, width, 3))
    result = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    result.flags.writeable = False
    return result


def image_in_mode(mode: str, width: int = 24, height: int = 20, seed: int = 0):
    """A Pillow image in ``mode`` made from :func:`sample_image`."""
    from PIL import Image

    rgb = Image.fromarray(sample_image(width, height, seed))
    if mode == "I;16":
        gray = np.asarray(rgb.convert("L"), dtype=np.uint16) * 257
        return Image.frombytes("I;16", rgb.size, gray.astype("<u2").tobytes())
    return rgb.convert(mode)


def sample_file(path: str | Path, width: int = 64, height: int = 48, *, mode: str = "RGB", seed: int = 0) -> Path:
    """Write :func:`image_in_mode` to ``path``, in the format its suffix names."""
    path = Path(path)
    image_in_mode(mode, width, height, seed).save(path)
    return path
