import numpy as np
import pytest
from PIL import Image

from pgpcodec.testing.samples import sample_image

pytest_plugins = ["pgpcodec.testing.plugin"]  # fixtures of the test kit (docs/plugins.md)


@pytest.fixture
def photo() -> np.ndarray:
    return sample_image(320, 240)


@pytest.fixture
def photo_path(tmp_path, photo):
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    return path


@pytest.fixture
def run_cli(pgpcodec_cli):
    """The test kit's in-process CLI runner: returns (exit code, stdout, stderr)."""
    return pgpcodec_cli
