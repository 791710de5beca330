import pytest

from pgpcodec.bench.bdrate import Point, bd_rate, bd_table, curves, envelope, mean_context


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
    falling = bd_rate(ANCHOR, [point(1, 34), point(2, 33)])
    assert falling.value is None and "envelope keeps 1 of 2 points" in falling.note
    assert falling.dropped == {"test": ((2.0, 33.0),)}
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


def test_envelope_keeps_points_above_every_lower_bpp_point():
    # Scores by rising bpp: 30, 29 (dip), 33, 31 (below 33), 32 (below 33), 35; the same bpp 3 twice.
    curve = [(5, 35), (2, 29), (1, 30), (3, 31), (4, 32), (3, 33)]
    kept, dropped = envelope(curve)
    assert kept == [(1, 30), (3, 33), (5, 35)]
    assert dropped == [(2, 29), (3, 31), (4, 32)]
    assert envelope([point(1, 30), point(2, 30)]) == ([(1, 30)], [(2, 30)])  # equal score is not above


def test_a_curve_with_dips_gets_a_number_and_a_note():
    # The half-rate curve with two dips added: the envelope is the half-rate curve, so exactly -50 %.
    halved = [(p.bpp / 2, p.score) for p in ANCHOR]
    dipping = halved + [(0.4, 29.0), (1.5, 35.0)]
    result = bd_rate(ANCHOR, dipping)
    assert result.value == pytest.approx(-50.0)
    assert result.dropped == {"test": ((0.4, 29.0), (1.5, 35.0))}
    assert "test curve's score falls" in result.note and "0.4 bpp: 29" in result.note
    assert result.cell() == "-50.0 % *"
    assert result.to_dict()["dropped"] == {"test": [{"bpp": 0.4, "score": 29.0}, {"bpp": 1.5, "score": 35.0}]}
    # A dip on the anchor side: the anchor's envelope is ANCHOR, so the half-rate curve is still -50 %.
    anchor = [(p.bpp, p.score) for p in ANCHOR] + [(3.0, 35.0)]
    assert bd_rate(anchor, halved).value == pytest.approx(-50.0)
    assert bd_rate(anchor, halved).dropped == {"anchor": ((3.0, 35.0),)}


def test_mean_context_psnr_of_a_curve():
    curve = [Point(0, 1, 1, 30, 30, 30, None, 20.0), Point(0, 1, 2, 31, 31, 31, None, 23.0), Point(0, 1, 3, 32, 32, 32, None, None)]
    assert mean_context({("x", "jpeg"): curve}, "x", "jpeg") == pytest.approx(21.5)
    assert mean_context({("x", "jpeg"): curve}, "plain", "jpeg") is None
