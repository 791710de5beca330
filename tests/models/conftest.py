import pytest


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    """An empty model cache for the test ($PGPCODEC_MODELS_DIR)."""
    folder = tmp_path / "models"
    monkeypatch.setenv("PGPCODEC_MODELS_DIR", str(folder))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return folder
