"""The text scorer (PP-OCRv4 via rapidocr-onnxruntime) and the ocr evaluator: maths, real photos, bad input."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pgpcodec.errors import InvalidModelError, MissingResourceError

pytest.importorskip("rapidocr_onnxruntime")

from pgpcodec_scorers import text as text_module  # noqa: E402
from pgpcodec_scorers.text import (  # noqa: E402
    TEXT_WORDS,
    asks_about_text,
    box_relevance,
    drop_contained,
    normalise_text,
    ocr_match,
    proxy_scale,
    quad_to_box,
    substring_distance,
    text_matches_prompt,
)

from pgpcodec.imaging import load_image  # noqa: E402
from pgpcodec.testing.scorer_contract import ScorerContractTests  # noqa: E402

DEV = Path(__file__).parents[1] / "pgpcodec" / "data" / "dev"
HOPPER = DEV / "images" / "grace_hopper.jpg"
NAME_TAG = (77, 482, 169, 519)  # the dev set's region of the name tag


# -- pure functions ----------------------------------------------------------------------


def test_asks_about_text():
    assert asks_about_text("text write name tag uniform")  # nltk's processed form of the dev row
    assert asks_about_text("What brand is on the tank?")
    assert asks_about_text("first word print top round mission patch")
    assert not asks_about_text("woman wear glass")
    assert not asks_about_text("")


def test_text_matches_prompt():
    assert text_matches_prompt("COMO HOPPER", "is hopper in the navy")
    assert text_matches_prompt("YAMAHA", "yamaha motorcycle color")
    assert text_matches_prompt("YAMAHAMOTOR", "yamaha")  # a squashed read still contains a 5+ letter word
    assert not text_matches_prompt("ON", "on the table")  # words shorter than 3 never match
    assert not text_matches_prompt("COMO HOPPER", "woman wear glass")
    assert text_matches_prompt("COMO HOPPEA", "hopper")  # 6 letters: one misread letter allowed
    assert not text_matches_prompt("COMO HOPPAA", "hopper")
    assert not text_matches_prompt("CAT", "cab")  # short words are read whole


def test_drop_contained():
    boxes = [(0, 0, 100, 20), (50, 2, 90, 18), (95, 0, 130, 20), (200, 0, 210, 10)]
    # the second lies inside the first; the third overlaps it by 5 of 35 columns: both kept
    assert drop_contained(boxes) == [0, 2, 3]
    assert drop_contained([]) == []


def test_proxy_scale():
    assert proxy_scale(500, 400, 1024, 1280) == 2.0  # small photos up 2× at most
    assert proxy_scale(741, 500, 1024, 1280) == pytest.approx(1280 / 741)  # up, but the long side stays <= max
    assert proxy_scale(4000, 3000, 1024, 1280) == pytest.approx(0.32)
    assert proxy_scale(2048, 1024, 1024, 4096) == 1.0
    assert proxy_scale(1, 10000, 1024, 1280) == pytest.approx(0.128)


def test_quad_to_box():
    quad = np.array([[10.2, 5.0], [20.0, 4.5], [20.5, 9.0], [10.0, 9.9]])
    assert quad_to_box(quad, 100, 100) == (10, 4, 22, 11)
    assert quad_to_box(quad, 15, 8) == (10, 4, 15, 8)  # clipped to the image
    assert quad_to_box(quad + 200, 100, 100) is None


def test_box_relevance_hand_values():
    relevance = box_relevance(12, 3, [(2, 1, 3, 2), (8, 0, 9, 1)], [1.0, 0.5], margin=1.0, ramp=2.0)
    # row 1: distance to box 1 is |x − 2| left of it, |x − 2| right; 1 within margin 1, then 1 − (d − 1)/2
    assert relevance[1, :6].tolist() == pytest.approx([0.5, 1.0, 1.0, 1.0, 0.5, 0.0])
    assert relevance[0, 8] == pytest.approx(0.5)  # the second box at its value
    assert relevance[2, 11] == 0.0
    assert box_relevance(5, 5, [(0, 0, 2, 2)], [0.0], 1.0, 1.0).max() == 0.0


def test_ocr_match_and_distance():
    assert normalise_text("Como  Hopper!") == "comohopper"
    assert substring_distance("abc", "xxabcxx") == 0
    assert substring_distance("kitten", "sitting") == 2  # 'sittin': k→s, e→i (the trailing g is free)
    assert substring_distance("hopper", "hopfe") == 2
    # tolerance 0.2 of the 10-letter answer allows 2 edits: 'COMOHOPFE' is F→P plus a missing R
    assert ocr_match("COMOHOPFE", "COMO HOPPER") == (True, 2)
    assert ocr_match("COMOHOT", "COMO HOPPER") == (False, 4)
    assert ocr_match("yamaha", "Yamaha") == (True, 0)
    assert ocr_match("YAMAMA", "Yamaha") == (True, 1)  # 6 letters: 1 edit allowed
    assert ocr_match("YAMAMA", "Yamaha", tolerance=0.1) == (False, 1)
    assert ocr_match("the word COLLINS here", "COLLINS") == (True, 0)  # neighbouring text costs nothing


def test_word_list_is_the_documented_one():
    docs = (Path(__file__).parents[1] / "docs" / "scorers.md").read_text()
    section = docs.split("<!-- text-words -->")[1].split("<!-- /text-words -->")[0]
    listed = set(re.findall(r"`([a-z]+)`", section))
    assert listed == set(TEXT_WORDS)


# -- the real models -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def hopper():
    return load_image(HOPPER)[0]


@pytest.fixture(scope="module")
def scorer():
    return text_module.TextScorer()


def tag_relevance(score_map) -> float:
    x0, y0, x1, y1 = NAME_TAG
    return float(score_map.scores[y0:y1, x0:x1].max())


def test_text_question_keeps_the_name_tag_without_recognition(scorer, hopper, monkeypatch):
    def no_recognition(*args, **kwargs):
        raise AssertionError("recognition ran although the prompt asks about text")

    monkeypatch.setattr(scorer.engine, "recognise", no_recognition)
    result = scorer.score(hopper, "text write name tag uniform")
    assert tag_relevance(result) == 1.0
    assert not result.nothing_relevant
    assert result.scores[300, 256] == 0.0  # her face is not text


def test_other_questions_recognise_and_match(scorer, hopper):
    assert tag_relevance(scorer.score(hopper, "hopper navy")) == 1.0  # the tag reads COMO HOPPER
    assert tag_relevance(scorer.score(hopper, "woman wear glass")) == pytest.approx(scorer.other_relevance)


def test_photo_without_text_is_nothing_relevant(scorer):
    grey = np.full((120, 160, 3), 128, dtype=np.uint8)
    result = scorer.score(grey, "what does the sign say")
    assert result.nothing_relevant
    assert np.all(result.scores == scorer.fallback)


def test_ocr_evaluator_reads_the_name_tag(hopper):
    from pgpcodec.bench.dataset import load_dataset
    from pgpcodec.bench.evaluators import Sample
    from pgpcodec.plugins import get_registry

    evaluator = get_registry().create("evaluator", "ocr")
    dataset = load_dataset(DEV / "text.jsonl")
    row = next(r for r in dataset.rows if r.image.name == "grace_hopper.jpg")
    result = evaluator.evaluate(Sample(row, hopper, {}, "plain", "png", 0))
    assert result["score"] == 1.0, result
    blurred = np.asarray(Image.fromarray(hopper).resize((64, 75)).resize((512, 600)))
    assert evaluator.evaluate(Sample(row, blurred, {}, "plain", "png", 0))["score"] == 0.0


def test_ocr_evaluator_refuses_non_text_rows():
    from pgpcodec.bench.dataset import load_dataset
    from pgpcodec.bench.evaluators import EvaluatorError
    from pgpcodec.plugins import get_registry

    evaluator = get_registry().create("evaluator", "ocr")
    row = next(r for r in load_dataset("dev").rows if not r.answer_in_image)
    with pytest.raises(EvaluatorError, match="not a text row"):
        evaluator.check(row)


def test_text_manifest_is_the_dev_sets_text_rows():
    import json

    dev = [json.loads(line) for line in (DEV / "dev.jsonl").read_text().splitlines() if line.strip()]
    text = [json.loads(line) for line in (DEV / "text.jsonl").read_text().splitlines() if line.strip()]
    assert text == [row for row in dev if row.get("answer_in_image")]
    assert len(text) >= 3


# -- missing extra, corrupt models, bad images ------------------------------------------


def test_missing_extra_names_the_install_command(monkeypatch):
    for name in [m for m in sys.modules if m.split(".")[0] == "rapidocr_onnxruntime"] + ["rapidocr_onnxruntime"]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingResourceError) as caught:
        text_module.OcrEngine()
    assert "pip install 'pgpcodec[text]'" in str(caught.value)


def test_corrupt_model_says_so_and_names_the_fix(monkeypatch, tmp_path, run_cli, photo_path):
    import rapidocr_onnxruntime.utils as rapid_utils

    corrupt = tmp_path / "det.onnx"
    corrupt.write_bytes(b"this is not an onnx model")
    original = rapid_utils.update_model_path

    def corrupted(config):
        config = original(config)
        config["Det"]["model_path"] = str(corrupt)
        return config

    monkeypatch.setattr(rapid_utils, "update_model_path", corrupted)
    with pytest.raises(InvalidModelError) as caught:
        text_module.OcrEngine()
    assert "corrupt" in caught.value.message and "--force-reinstall" in caught.value.hint
    monkeypatch.setattr(text_module, "_engines", {})
    code, out, err = run_cli("encode", photo_path, "-p", "what does it say", "--scorer", "text", "-o", tmp_path / "o.jpg")
    assert code != 0
    assert len(err.strip().splitlines()) == 1 and "corrupt" in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["sliver", "sixteen-bit", "noise"])
def test_bad_images_give_a_result_or_one_line(kind, tmp_path, run_cli):
    rng = np.random.default_rng(0)
    path = tmp_path / f"{kind}.png"
    if kind == "sliver":
        Image.fromarray(rng.integers(0, 256, (10000, 1, 3), dtype=np.uint8)).save(path)
    elif kind == "sixteen-bit":
        Image.fromarray(rng.integers(0, 65536, (120, 160), dtype=np.uint16)).save(path)
    else:
        Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(path)
    code, out, err = run_cli("encode", path, "-p", "what does the sign say", "--scorer", "uniform+text"
                             if kind == "noise" else "text", "-o", tmp_path / "out.jpg")
    assert code == 0 or len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert code == 0, err  # all three have a result


class TestTextScorerContract(ScorerContractTests):
    scorer_name = "text"
