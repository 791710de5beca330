import pytest
from bench_helpers import write_manifest
from PIL import Image

from pgpcodec.testing.samples import sample_image


@pytest.fixture
def tiny_manifest(tmp_path):
    """Two photos, three questions, relative image paths."""
    (tmp_path / "img").mkdir()
    Image.fromarray(sample_image(128, 96, 1)).save(tmp_path / "img" / "a.png")
    Image.fromarray(sample_image(112, 80, 2)).save(tmp_path / "img" / "b.png")
    rows = [
        {"image": "img/a.png", "prompt": "Is there a red disc? Please answer yes or no.", "answer": "Yes", "regions": [[10, 10, 50, 40]], "kind": "yesno"},
        {"image": "img/a.png", "prompt": "What colour is the corner?\nOptions:\nA. Blue\nB. Green\nAnswer with the option's letter from the given choices directly.", "answer": "B", "regions": [[80, 50, 128, 96]], "kind": "mcq"},
        {"image": "img/b.png", "prompt": "What shape is in the middle? Answer the question using a single word or phrase.", "answer": "Circle", "regions": [[30, 20, 70, 60], [90, 0, 112, 20]]},
    ]
    return write_manifest(tmp_path / "tiny.jsonl", rows)
