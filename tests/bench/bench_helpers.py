"""Helpers shared by the bench tests (a uniquely named module, not conftest, so imports are unambiguous)."""

import json

import numpy as np
import pytest


def small_photo(width: int, height: int, seed: int) -> np.ndarray:
    """A deterministic photo-like image: gradients, a few discs and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([x / width * 200 + 30, y / height * 180 + 40, (x + y) / (width + height) * 150 + 60], axis=2)
    for _ in range(5):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(6, 20)
        image[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    image += rng.normal(0, 10, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def run_cli(capsys, *args):
    """``pgpcodec bench ARGS`` in process: (exit code, stdout, stderr)."""
    from pgpcodec.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["bench", *args])
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def write_manifest(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path
