"""``pgpcodec bdrate``: BD-rates of rate–score points read from CSV or JSONL."""

import json

import pytest

from pgpcodec.testing.plugin import invoke_cli

ANCHOR = [(0.5, 30), (1.0, 33), (2.0, 36), (4.0, 39)]


def rows(curve, points, **groups):
    return [{"curve": curve, "bpp": b, "score": s, **groups} for b, s in points]


def write_csv(path, records):
    columns = list(records[0])
    path.write_text(",".join(columns) + "\n" + "".join(",".join(str(r[c]) for c in columns) + "\n" for r in records))
    return path


def points_file(tmp_path):
    halved = [(b / 2, s) for b, s in ANCHOR]
    records = (
        rows("plain", ANCHOR, dataset="A")
        + rows("pgp", halved + [(0.4, 29.0)], dataset="A")  # a dip, left out by the envelope: -50 %
        + rows("plain", ANCHOR, dataset="B")
        + rows("pgp", [(b * 0.8, s) for b, s in ANCHOR], dataset="B")  # -20 %
    )
    return write_csv(tmp_path / "points.csv", records)


def test_a_row_per_pair_a_column_per_group_and_the_mean(tmp_path, capsys):
    result = invoke_cli(["bdrate", str(points_file(tmp_path)), "--pairs", "plain:pgp"], capsys)
    code, out, err = result
    assert code == 0, err
    assert "-50.0 % *" in out and "-20.0 %" in out and "-35.0 %" in out  # the mean over A and B
    assert "envelope leaves out 1 point(s) (0.4 bpp: 29)" in out


def test_json_gives_per_group_values_dropped_points_and_mean(tmp_path, capsys):
    code, out, err = invoke_cli(["bdrate", str(points_file(tmp_path)), "--pairs", "plain:pgp", "--json"], capsys)
    assert code == 0, err
    (pair,) = json.loads(out)["pairs"]
    assert pair["anchor"] == "plain" and pair["test"] == "pgp"
    by_group = {g["dataset"]: g for g in pair["groups"]}
    assert by_group["A"]["bd_rate_percent"] == pytest.approx(-50.0)
    assert by_group["A"]["dropped"] == {"test": [{"bpp": 0.4, "score": 29.0}]}
    assert by_group["B"]["bd_rate_percent"] == pytest.approx(-20.0) and by_group["B"]["dropped"] == {}
    assert pair["mean_bd_rate_percent"] == pytest.approx(-35.0)


def test_jsonl_without_group_columns(tmp_path, capsys):
    path = tmp_path / "points.jsonl"
    records = rows("plain-JPEG", ANCHOR) + rows("pgp-JPEG", [(b / 2, s) for b, s in ANCHOR])
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    code, out, err = invoke_cli(["bdrate", str(path), "--pairs", "plain-JPEG:pgp-JPEG", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["pairs"][0]["mean_bd_rate_percent"] == pytest.approx(-50.0)


@pytest.mark.parametrize(
    "text,pairs,message",
    [
        ("curve,score\nplain,30\n", "plain:pgp", "has no column 'bpp'"),
        ("curve,bpp,score\nplain,0.5,30\nplain,lots,33\n", "plain:plain", "line 3: bpp 'lots' is not a finite number"),
        ("curve,bpp,score\nplain,0.5,30\nplain,1,x\n", "plain:plain", "line 3: score 'x' is not a finite number"),
        ("curve,bpp,score\nplain,0.5,30\n", "plain:pgp", "curve 'pgp', which is not in the points"),
        ("curve,bpp,score\nplain,0.5,30\n", "plain", "is not ANCHOR:TEST"),
    ],
)
def test_bad_input_is_one_line_naming_the_row_or_column(tmp_path, capsys, text, pairs, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    code, out, err = invoke_cli(["bdrate", str(path), "--pairs", pairs], capsys)
    assert code != 0 and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_pair_that_cannot_be_computed_says_why(tmp_path, capsys):
    path = write_csv(tmp_path / "p.csv", rows("plain", ANCHOR) + rows("pgp", [(1.0, 50), (2.0, 60)]))
    code, out, _ = invoke_cli(["bdrate", str(path), "--pairs", "plain:pgp"], capsys)
    assert code == 0 and "n/a" in out and "score ranges do not overlap" in out
