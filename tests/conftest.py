import numpy as np
import pytest
from PIL import Image

pytest_plugins = ["pgpcodec.testing.plugin"]  # fixtures of the test kit (docs/plugins.md)


def synthetic_photo(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """A deterministic photo-like RGB image: smooth gradients, shapes and sensor-like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([x / width * 200 + 30, y / height * 180 + 40, (x + y) / (width + height) * 150 + 60], axis=2)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(10, 60)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        image[mask] = rng.uniform(0, 255, 3)
    image += rng.normal(0, 12, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture
def photo() -> np.ndarray:
    return synthetic_photo()


@pytest.fixture
def photo_path(tmp_path, photo):
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    return path


@pytest.fixture
def run_cli(capsys):
    """Run the CLI in process: returns (exit code, stdout, stderr)."""
    from pgpcodec.cli import main

    def run(*args):
        try:
            main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code
        else:  # main always exits
            raise AssertionError("pgpcodec.cli.main returned without exiting")
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
