"""VLMEvalKit TSV datasets, built here from the dev photos, through bench with the openai evaluator on loopback."""

import base64
import json
import tracemalloc

import numpy as np
import pytest
from bench_helpers import dev_photo, run_cli, write_tsv
from test_bench_openai import ChatServer

from pgpcodec.bench.dataset import decode_photo, load_dataset, read_photo
from pgpcodec.bench.vlmeval import TsvImage, build_prompt
from pgpcodec.bench.vqa_metrics import accuracy, circular_groups, mme_scores
from pgpcodec.errors import InputError


def b64(name, width=96):
    return base64.b64encode(dev_photo(name, width)).decode()


MME_COLUMNS = ["index", "category", "image", "question", "answer"]
YN = " Please answer yes or no."


@pytest.fixture
def mme_tsv(tmp_path):
    """Three images, two questions each; a second question's image is the index of the first (as in MME.tsv)."""
    rows = [
        {"index": 1, "category": "existence", "image": b64("astronaut.png"), "question": "Is there a person in this image?" + YN, "answer": "Yes"},
        {"index": 2, "category": "existence", "image": "1", "question": "Is there a dog in this image?" + YN, "answer": "No"},
        {"index": 3, "category": "existence", "image": b64("coffee.png"), "question": "Is there a cup in this image?" + YN, "answer": "Yes"},
        {"index": 4, "category": "existence", "image": "3", "question": "Is there a car in this image?" + YN, "answer": "No"},
        {"index": 5, "category": "code_reasoning", "image": b64("camera.png"), "question": "Will the code print 3?" + YN, "answer": "Yes"},
        {"index": 6, "category": "code_reasoning", "image": "5", "question": "Will the code print 4?" + YN, "answer": "No"},
    ]
    return write_tsv(tmp_path / "MME.tsv", rows, MME_COLUMNS)


MME_REPLIES = {"a person": "Yes.", "a dog": "No, there is none.", "a cup": "Yes", "a car": "Yes", "print 3": "yes", "print 4": "Yes"}

MCQ_COLUMNS = ["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "l2-category", "image"]


@pytest.fixture
def mmbench_tsv(tmp_path):
    """MMBench-style: hint, options A-D (D empty), and a circular copy (index + 10⁶) with shifted options."""
    rows = [
        {"index": 1, "question": "What colour is the cup?", "hint": "Look at the table.", "A": "red", "B": "white", "C": "blue",
         "answer": "B", "category": "color", "l2-category": "attribute", "image": b64("coffee.png")},
        {"index": 2, "question": "How many people are there?", "A": "1", "B": "2", "C": "3", "answer": "A",
         "category": "count", "l2-category": "instance", "image": b64("astronaut.png")},
        {"index": 3, "question": "What does the man hold?", "A": "a camera", "B": "a flag", "answer": "A",
         "category": "object", "l2-category": "instance", "image": b64("camera.png")},
        {"index": 1000001, "question": "What colour is the cup?", "hint": "Look at the table.", "A": "white", "B": "blue", "C": "red",
         "answer": "A", "category": "color", "l2-category": "attribute", "image": "1"},
    ]
    return write_tsv(tmp_path / "MMBench_DEV_EN.tsv", rows, MCQ_COLUMNS)


MCQ_REPLIES = {"Options:\nA. red": "B", "Options:\nA. white": "B", "How many": "(A) 1", "the man hold": "B"}


def bench_args(tsv, out, url, *extra):
    return ["--dataset", str(tsv), "--codecs", "jpeg", "--qualities", "60,90", "--variants", "plain,gaussian:1",
            "--evaluator", "openai", "--endpoint", url, "--model", "m", "--out", str(out), *extra]


def test_prompts_are_built_as_vlmevalkit_builds_them(mmbench_tsv, mme_tsv):
    data = load_dataset(mmbench_tsv)
    assert data.rows[0].prompt == ("Hint: Look at the table.\nQuestion: What colour is the cup?\nOptions:\nA. red\nB. white\nC. blue\n"
                                   "Please select the correct answer from the options above. \n")
    assert data.rows[1].prompt.startswith("Question: How many people are there?\nOptions:\nA. 1\n")  # no hint line without a hint
    assert [r.kind for r in data.rows] == ["mcq"] * 4 and data.benchmark == "mcq"
    assert build_prompt("Is it red? Please answer yes or no.", {}, None) == "Is it red? Please answer yes or no."
    mme = load_dataset(mme_tsv)
    assert mme.benchmark == "mme" and [r.kind for r in mme.rows] == ["yesno"] * 6
    assert mme.rows[1].prompt == "Is there a dog in this image?" + YN
    # the second question of an image shares the first one's stored image
    assert mme.rows[1].image == mme.rows[0].image and isinstance(mme.rows[0].image, TsvImage)
    # the nltk prompt processor strips VLMEvalKit's phrases for the scorer
    from pgpcodec_scorers.prompts import strip_instructions

    assert strip_instructions(data.rows[0].prompt) == "Look at the table What colour is the cup A red B white C blue"


def test_images_are_read_lazily_from_their_row(tmp_path):
    """Loading keeps byte offsets, not images: memory stays far below the file's size, and each image decodes from its row."""
    photos = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"]
    images = [b64(name, 400) for name in photos]
    rows = [{"index": i, "category": "scene", "image": images[i % 4], "question": f"Is it scene {i}?" + YN, "answer": "Yes"}
            for i in range(80)]
    tsv = write_tsv(tmp_path / "big.tsv", rows, MME_COLUMNS)
    load_dataset(write_tsv(tmp_path / "MME_small.tsv", rows[:1], MME_COLUMNS))  # imports done before measuring
    tracemalloc.start()
    data = load_dataset(tsv)
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = tsv.stat().st_size
    # what stays is a few hundred bytes a row; the peak is one row being parsed, not the file
    assert size > 16_000_000 and kept < size / 200 and peak < size / 4, (size, kept, peak)
    assert all(isinstance(r.image, TsvImage) for r in data.rows)
    from pgpcodec.imaging import load_image

    for i in (0, 7, 79):
        expected, _ = load_image(dev_photo(photos[i % 4], 400))
        assert np.array_equal(decode_photo(read_photo(data.rows[i].image), data.rows[i].image), expected)


def test_mme_and_mmbench_scores_come_out_as_hand_computed(mme_tsv, mmbench_tsv, tmp_path, capsys):
    with ChatServer(answers=MME_REPLIES) as server:
        code, stdout, err = run_cli(capsys, *bench_args(mme_tsv, tmp_path / "mme", server.url))
        assert code == 0, err
        assert len(server.requests) == 6 * 2 * 2  # each question × 2 variants × 2 qualities
        assert {r["messages"][0]["content"][1]["text"] for r in server.requests} == {r.prompt for r in load_dataset(mme_tsv).rows}
    summary = json.loads((tmp_path / "mme" / "results.json").read_text())
    assert summary["metric"] == "MME score (perception + reasoning)"
    # existence: acc 3/4, acc+ 1/2 (only the astronaut's two answers are both right) -> 125; code_reasoning: 1/2 and 0/1 -> 50
    for curve in ("plain|jpeg", "gaussian:1|jpeg"):
        for quality in ("60", "90"):
            point = summary["benchmark"]["points"][curve][quality]
            assert point["categories"] == {"code_reasoning": pytest.approx(50.0), "existence": pytest.approx(125.0)}
            assert point["perception"] == pytest.approx(125.0) and point["reasoning"] == pytest.approx(50.0)
            assert point["total"] == pytest.approx(175.0)
    assert [p["score"] for p in summary["points"]["plain|jpeg"]] == [pytest.approx(175.0)] * 2

    with ChatServer(answers=MCQ_REPLIES) as server:
        code, stdout, err = run_cli(capsys, *bench_args(mmbench_tsv, tmp_path / "mmb", server.url))
        assert code == 0, err
    summary = json.loads((tmp_path / "mmb" / "results.json").read_text())
    point = summary["benchmark"]["points"]["plain|jpeg"]["90"]
    # right: 1 and 2; wrong: 3 and the circular copy of 1 -> 50 %; circular: only question 2 -> 1/3
    assert point["overall"] == pytest.approx(50.0)
    assert point["category"] == {"color": pytest.approx(50.0), "count": pytest.approx(100.0), "object": pytest.approx(0.0)}
    assert point["l2-category"] == {"attribute": pytest.approx(50.0), "instance": pytest.approx(50.0)}
    assert point["circular"]["overall"] == pytest.approx(100 / 3) and point["score"] == pytest.approx(100 / 3)
    assert summary["metric"] == "circular accuracy (%)" and summary["benchmark"]["kind"] == "mcq-circular"


def test_bad_rows_are_named_by_index_and_the_rest_goes_on(mme_tsv, tmp_path, capsys):
    rows = [
        {"index": 10, "category": "scene", "image": b64("chelsea.png"), "question": "Is there a cat?" + YN, "answer": "Yes"},
        {"index": 11, "category": "scene", "image": "not*base64" * 10, "question": "Is it a dog?" + YN, "answer": "No"},
        {"index": 12, "category": "scene", "image": base64.b64encode(b"definitely not an image" * 5).decode(), "question": "Is it?" + YN, "answer": "No"},
        {"index": 13, "category": "scene", "image": b64("coffee.png"), "question": "Which?", "A": "a cup", "B": "a dog", "answer": "E"},
        {"index": 14, "category": "scene", "image": "99", "question": "Is it?" + YN, "answer": "No"},
    ]
    tsv = write_tsv(tmp_path / "bad.tsv", rows, ["index", "category", "image", "question", "A", "B", "answer"])
    out = tmp_path / "out"
    with ChatServer(answers={"a cat": "Yes"}) as server:
        code, stdout, err = run_cli(capsys, *bench_args(tsv, out, server.url))
    assert code == 1
    text = " ".join(err.split())
    assert "4 row(s) failed" in text
    assert "row 2 (index 11): the image column is not valid base64" in text
    assert "row 3 (index 12): the image does not decode: not a readable image" in text
    assert "row 4 (index 13): answer 'E' is not one of the options A, B" in text
    assert "row 5 (index 14): its image refers to index '99', which holds no image" in text
    # the good row was computed for every variant and quality, and kept
    records = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    assert sorted({r["row"] for r in records}) == ["10"] and len(records) == 4
    summary = json.loads((out / "results.json").read_text())
    assert sorted(f["row"] for f in summary["failures"]) == ["11", "12", "13", "14"]
    assert [p["rows"] for p in summary["points"]["plain|jpeg"]] == [1, 1]  # the curves average the rows that ran
    assert "BD-rate" in stdout  # the table is still printed


def test_a_tsv_missing_a_column_stops_before_any_work(tmp_path, capsys):
    tsv = write_tsv(tmp_path / "noq.tsv", [{"index": 1, "image": b64("coffee.png"), "answer": "Yes"}], ["index", "image", "answer"])
    code, _, err = run_cli(capsys, "--dataset", str(tsv), "--codecs", "jpeg", "--evaluator", "openai", "--endpoint", "http://127.0.0.1:9/v1",
                           "--model", "m", "--out", str(tmp_path / "o"))
    assert code == 1 and "has no 'question' column" in err and "index, image, answer" in err
    assert not (tmp_path / "o").exists()
    with pytest.raises(InputError, match="no 'index', 'image \\(or image_path\\)' column"):
        load_dataset(write_tsv(tmp_path / "x.tsv", [{"question": "q"}], ["question"]))


def test_the_roi_evaluator_and_the_regions_scorer_say_they_need_regions(mme_tsv, tmp_path, capsys):
    code, _, err = run_cli(capsys, "--dataset", str(mme_tsv), "--codecs", "jpeg", "--out", str(tmp_path / "o"))
    assert code == 2 and "row 1 (index 1): has no regions, which the roi evaluator needs" in err
    with ChatServer(answers=MME_REPLIES) as server:
        code, stdout, err = run_cli(capsys, "--dataset", str(mme_tsv), "--codecs", "jpeg", "--qualities", "50", "--evaluator", "openai",
                                    "--endpoint", server.url, "--model", "m", "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert "variant 'prefilter' skipped: scorer 'regions' needs regions, and dataset 'MME' has none" in " ".join(err.split())


def test_image_path_rows(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "c.png").write_bytes(dev_photo("coffee.png"))
    tsv = write_tsv(tmp_path / "paths.tsv", [{"index": 1, "image_path": "img/c.png", "question": "Cup?" + YN, "answer": "Yes"},
                                             {"index": 2, "image_path": "img/missing.png", "question": "Dog?" + YN, "answer": "No"}],
                    ["index", "image_path", "question", "answer"])
    data = load_dataset(tsv)
    assert [r.id for r in data.rows] == ["1"] and data.rows[0].image == (tmp_path / "img" / "c.png").resolve()
    assert "row 2 (index 2): image_path 'img/missing.png' not found" in data.failures[0].message


def test_vqa_metrics_by_hand():
    # two images in one category: both right / one right -> acc 3/4, acc+ 1/2 -> 125
    assert mme_scores([("color", "a", True), ("color", "a", True), ("color", "b", True), ("color", "b", False)])["categories"] == {"color": 125.0}
    scores = mme_scores([("OCR", "x", True), ("OCR", "x", True), ("text_translation", "y", False), ("text_translation", "y", True)])
    assert scores["perception"] == 200.0 and scores["reasoning"] == 50.0 and scores["total"] == 250.0
    items = [("1", "c", "l", True), ("1000001", "c", "l", False), ("2", "d", "l", True), ("2000002", "d", "l", True)]
    assert circular_groups(items) == [("1", "c", "l", False), ("2", "d", "l", True)]
    result = accuracy(items)
    assert result["overall"] == 75.0 and result["category"] == {"c": 50.0, "d": 100.0} and result["l2-category"] == {"l": 75.0}
