import pytest

from pgpcodec.bench.bdrate import Point, bd_rate, bd_table, curves


def point(bpp, score, quality=0):
    return Point(quality=quality, rows=1, bpp=bpp, score=score, psnr=score, roi_psnr=score, outside_psnr=None)


ANCHOR = [point(0.5, 30), point(1.0, 33), point(2.0, 36), point(4.0, 39)]


def test_half_the_rate_at_every_score_is_minus_50_percent():
    test = [point(p.bpp / 2, p.score) for p in ANCHOR]
    assert bd_rate(ANCHOR, test).value == pytest.approx(-50.0)
    assert bd_rate(ANCHOR, ANCHOR).value == pytest.approx(0.0)
    assert bd_rate(test, ANCHOR).value == pytest.approx(100.0)


def test_unusable_curves_give_a_reason_not_a_number():
    assert bd_rate(ANCHOR, [point(1, 30)]).value is None
    assert "does not rise" in bd_rate(ANCHOR, [point(1, 34), point(2, 33)]).note
    assert "do not overlap" in bd_rate(ANCHOR, [point(1, 50), point(2, 60)]).note
    partial = bd_rate(ANCHOR, [point(1.0, 37), point(3.0, 45)])
    assert partial.value is not None and "overlap only" in partial.note


def test_curves_average_rows_and_drop_incomplete_qualities():
    results = [
        {"variant": "plain", "codec": "jpeg", "quality": 50, "bpp": 1.0, "score": 30, "psnr": 31, "roi_psnr": 30, "outside_psnr": None},
        {"variant": "plain", "codec": "jpeg", "quality": 50, "bpp": 3.0, "score": 34, "psnr": 33, "roi_psnr": 34, "outside_psnr": 20},
        {"variant": "plain", "codec": "jpeg", "quality": 20, "bpp": 0.5, "score": 28, "psnr": 28, "roi_psnr": 28, "outside_psnr": 25},
    ]
    points = curves(results, expected_rows=2)
    (only,) = points[("plain", "jpeg")]
    assert (only.quality, only.rows, only.bpp, only.score, only.outside_psnr) == (50, 2, 2.0, 32, 20)


def test_table_rows_are_variants_and_columns_codecs():
    points = {("plain", "jpeg"): ANCHOR, ("x", "jpeg"): [point(p.bpp * 0.8, p.score) for p in ANCHOR]}
    table = bd_table(points, ["plain", "x"], ["jpeg", "heic"])
    assert list(table) == ["x"]
    assert table["x"]["jpeg"].value == pytest.approx(-20.0)
    assert table["x"]["heic"].value is None
