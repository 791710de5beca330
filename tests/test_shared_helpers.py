"""Helpers that used to be written out in several places, now one each: the rate rules, resizing, booleans."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pgpcodec.codec_options import parse_bool
from pgpcodec.errors import UsageError
from pgpcodec.maths.grid import resize
from pgpcodec.ratecontrol import bytes_for_bpp, check_rate_target


@pytest.mark.parametrize(
    ("quality", "target_bytes", "target_bpp", "message"),
    [
        (50, 100, None, "give only one of quality, target_bytes and target_bpp"),
        (None, 100, 0.5, "give only one of quality, target_bytes and target_bpp"),
        (None, 0, None, "target_bytes must be positive, got 0"),
        (None, None, -1.0, "target_bpp must be positive, got -1.0"),
        (None, None, float("nan"), "target_bpp must be positive, got nan"),
    ],
)
def test_rate_rules_name_the_parameters(quality, target_bytes, target_bpp, message):
    with pytest.raises(UsageError) as caught:
        check_rate_target(quality, target_bytes, target_bpp)
    assert caught.value.message == message


def test_rate_rules_accept_one_request_and_speak_the_callers_labels():
    for request in [(None, None, None), (50, None, None), (None, 1, None), (None, None, 0.01)]:
        check_rate_target(*request)
    with pytest.raises(UsageError, match=r"^give only one of -q, --bytes and target_bpp$"):
        check_rate_target(1, 2, None, labels={"quality": "-q", "target_bytes": "--bytes"})
    with pytest.raises(UsageError, match="target_bpp must be positive"):
        bytes_for_bpp(0, 10, 10)
    assert bytes_for_bpp(1.0, 10, 8) == 10


def test_the_pipeline_and_the_cli_keep_the_same_rate_rules():
    from pgpcodec.pipeline import encode_pixels

    with pytest.raises(UsageError, match="give only one of quality, target_bytes and target_bpp"):
        encode_pixels(None, np.zeros((4, 4, 3), np.uint8), 50, target_bytes=100)
    with pytest.raises(UsageError, match="target_bytes must be positive"):
        encode_pixels(None, np.zeros((4, 4, 3), np.uint8), target_bytes=0)


def _pillow(image: np.ndarray, size, method, **kwargs) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize(size, method, **kwargs))


def test_resize_is_pillows_filter_and_leaves_an_image_of_the_size_alone():
    image = np.random.default_rng(0).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    assert resize(image, (20, 12)) is image
    np.testing.assert_array_equal(resize(image, (7, 5)), _pillow(image, (7, 5), Image.Resampling.BICUBIC))
    np.testing.assert_array_equal(resize(image, (7, 5), "bilinear"), _pillow(image, (7, 5), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(resize(image, (7, 5), "lanczos", reducing_gap=3.0),
                                  _pillow(image, (7, 5), Image.Resampling.LANCZOS, reducing_gap=3.0))
    assert resize(image, (40, 24), "bilinear").shape == (24, 40, 3)
    # hand-computed: a bilinear 2x2 -> 1x1 of 0 and 200 averages them
    assert resize(np.array([[[0] * 3, [200] * 3], [[0] * 3, [200] * 3]], np.uint8), (1, 1), "bilinear").tolist() == [[[100] * 3]]


@pytest.mark.parametrize(("text", "value"), [("1", True), ("Yes", True), (" on ", True), ("true", True),
                                             ("0", False), ("NO", False), ("off", False), ("false", False)])
def test_one_boolean_parser_for_codec_options_and_the_sidecar(text, value):
    from pgpcodec.server import _flag

    assert parse_bool(text, "x") is value
    assert _flag({"prefilter": text}, "prefilter", not value) is value


def test_the_sidecar_flag_keeps_its_default_and_refuses_other_words():
    from pgpcodec.server import HttpError, _flag

    assert _flag({}, "prefilter", True) is True and _flag({"prefilter": " "}, "prefilter", False) is False
    with pytest.raises(HttpError) as caught:
        _flag({"prefilter": "maybe"}, "prefilter", True)
    assert caught.value.status == 422 and "prefilter must be true or false, got 'maybe'" in str(caught.value)
