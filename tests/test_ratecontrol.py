"""Rate targeting: the search on fake codecs, and end to end through Pipeline and the CLI."""

import pytest

from pgpcodec.errors import CodecError, RateTargetError, UsageError
from pgpcodec.interfaces import EncodedImage
from pgpcodec.ratecontrol import bytes_for_bpp, search_best_fit


def _fake(sizes, fail_at=()):
    calls = []

    def encode(quality):
        calls.append(quality)
        if quality in fail_at:
            raise CodecError("encoder failed")
        return EncodedImage(b"x" * sizes[quality], "fake", quality, 10, 10, ".x", "x/x")

    return encode, calls


def test_best_fitting_quality_in_few_calls():
    sizes = {q: 100 + 10 * q for q in range(101)}  # 100 … 1100 bytes
    encode, calls = _fake(sizes)
    best = search_best_fit(list(range(101)), encode, 555)
    assert best.quality == 45 and len(best.data) == 550
    assert len(calls) <= 9 and len(set(calls)) == len(calls)


def test_exact_fit_and_best_quality():
    encode, _ = _fake({0: 10, 1: 20, 2: 30})
    assert search_best_fit([0, 1, 2], encode, 20).quality == 1
    assert search_best_fit([0, 1, 2], encode, 1000).quality == 2


def test_quantiser_order_worst_first():
    sizes = {qp: 1000 - 10 * qp for qp in range(64)}  # size falls as QP rises
    encode, _ = _fake(sizes)
    best = search_best_fit(list(range(63, -1, -1)), encode, 505)
    assert best.quality == 50


def test_nothing_fits_names_smallest_size():
    encode, _ = _fake({0: 300, 1: 400})
    with pytest.raises(RateTargetError, match="gives 300 bytes, over the target of 200") as info:
        search_best_fit([0, 1], encode, 200, label="QP")
    assert "at least 300 bytes" in info.value.hint


def test_failing_settings_count_as_not_fitting():
    encode, _ = _fake({q: 10 * (q + 1) for q in range(8)}, fail_at={6, 7})
    assert search_best_fit(list(range(8)), encode, 10_000).quality == 5
    encode, _ = _fake({0: 1}, fail_at={0})
    with pytest.raises(CodecError):
        search_best_fit([0], encode, 100)


def test_answer_always_fits_for_non_monotone_sizes():
    encode, _ = _fake({0: 10, 1: 90, 2: 40, 3: 95, 4: 200})
    best = search_best_fit(list(range(5)), encode, 50)
    assert len(best.data) <= 50


def test_bytes_for_bpp():
    assert bytes_for_bpp(0.5, 100, 100) == 625
    with pytest.raises(UsageError):
        bytes_for_bpp(0, 10, 10)


def test_pipeline_targets_bytes():
    from pgpcodec.pipeline import Pipeline
    from pgpcodec.testing.codec_contract import sample_image

    pipe = Pipeline(scorer="uniform", codec="jpeg", prompt_processor="none")
    image = sample_image(96, 64)
    result = pipe.encode(image, target_bytes=1500, prefilter=False)
    assert len(result.data) <= 1500 and "rate_search" in result.timings
    if result.quality < 100:
        assert len(pipe.encode(image, quality=result.quality + 1, prefilter=False).data) > 1500
    by_bpp = pipe.encode(image, target_bpp=1.0)
    # Under a rate target the image is still prefiltered (a skipped prefilter is timed 0.0).
    assert by_bpp.bpp <= 1.0 and by_bpp.timings["prefilter"] > 0
    with pytest.raises(UsageError):
        pipe.encode(image, quality=50, target_bytes=1000)

