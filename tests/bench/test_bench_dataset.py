import json

import pytest

from pgpcodec.bench.dataset import load_dataset
from pgpcodec.errors import InputError

from bench_helpers import write_manifest


def test_the_dev_set_ships_inside_the_package():
    data = load_dataset("dev")
    assert len(data.rows) == 27
    assert len(data.images()) == 9
    assert all(row.image.is_file() and row.regions and row.answer for row in data.rows)
    assert {row.kind for row in data.rows} == {"yesno", "mcq", "short"}


def test_relative_and_absolute_image_paths(tiny_manifest, tmp_path):
    data = load_dataset(tiny_manifest)
    assert [row.image.name for row in data.rows] == ["a.png", "a.png", "b.png"]
    assert data.rows[2].kind is None and data.rows[2].regions == ((30, 20, 70, 60), (90, 0, 112, 20))
    absolute = write_manifest(tmp_path / "abs.jsonl", [{"image": str(tmp_path / "img" / "b.png"), "prompt": "What?"}])
    assert load_dataset(absolute).rows[0].regions == ()


@pytest.mark.parametrize(
    "row, message",
    [
        ({"image": "img/missing.png", "prompt": "What?"}, "image 'img/missing.png' not found"),
        ({"image": "img/a.png", "prompt": "What?", "regions": [[0, 0, 129, 10]]}, "outside the 128x96 image"),
        ({"image": "img/a.png", "prompt": "What?", "regions": [[20, 10, 20, 30]]}, "is empty or outside"),
        ({"image": "img/a.png", "prompt": "What?", "regions": [[1, 2, 3]]}, "is not four numbers"),
        ({"image": "img/a.png", "prompt": "   "}, "has an empty prompt"),
        ({"image": "img/a.png"}, "has an empty prompt"),
        ({"image": "img/a.png", "prompt": "What?", "kind": "essay"}, "unknown kind 'essay'"),
    ],
)
def test_bad_rows_are_named(tiny_manifest, row, message):
    lines = tiny_manifest.read_text().splitlines()
    lines.insert(1, json.dumps(row))
    tiny_manifest.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        load_dataset(tiny_manifest)
    assert f"{tiny_manifest}, row 2: " in caught.value.message
    assert message in caught.value.message


def test_invalid_json_and_empty_manifest(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"image": "a.png", "prompt": "x"\n')
    with pytest.raises(InputError, match="row 1: is not valid JSON"):
        load_dataset(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InputError, match="no rows"):
        load_dataset(empty)
    with pytest.raises(InputError, match="no such manifest"):
        load_dataset(tmp_path / "nope.jsonl")
