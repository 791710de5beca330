"""The codec contract: what every Codec plugin must do, as a reusable pytest class.

Subclass :class:`CodecContract` in a test module and name the codec::

    from pgpcodec.testing.codec_contract import CodecContract

    class TestMyCodec(CodecContract):
        codec_name = "mycodec"             # as registered by your plugin

The codec is created through the plugin registry, as ``pgpcodec encode
--codec`` creates it; override :meth:`make_codec` to pass options, and
the size attributes if your encoder is too slow for a 12 MP image in tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from ..errors import CodecError, UsageError
from ..interfaces import Codec, EncodedImage
from .samples import sample_image


class CodecContract:
    codec_name: str = ""
    """The name the plugin registers; required."""
    codec_options: dict = {}
    image_size: tuple[int, int] = (96, 64)
    tiny_sizes: Sequence[tuple[int, int]] = ((1, 1), (2, 3), (7, 5), (1, 33), (33, 1))
    huge_size: tuple[int, int] = (4000, 3000)
    min_psnr_at_best_quality: float = 30.0
    """A lossy codec at its best setting must get at least this close to the input."""

    def make_codec(self) -> Codec:
        from ..plugins import PluginRegistry

        if not self.codec_name:
            raise TypeError(f"{type(self).__name__} must set codec_name")
        return PluginRegistry().create("codec", self.codec_name, **self.codec_options)

    @pytest.fixture(scope="class")
    @classmethod
    def codec(cls) -> Codec:
        """One codec per test class."""
        return cls().make_codec()

    def round_trip(self, codec: Codec, image: np.ndarray, quality=None) -> tuple[EncodedImage, np.ndarray]:
        height, width = image.shape[:2]
        encoded = codec.encode(image, quality)
        assert isinstance(encoded, EncodedImage)
        assert encoded.data and (encoded.width, encoded.height) == (width, height)
        assert encoded.codec == codec.name and encoded.extension == codec.extension
        decoded = codec.decode(encoded.data)
        assert isinstance(decoded, np.ndarray) and decoded.dtype == np.uint8, "decode() must give a uint8 array"
        assert decoded.shape == (height, width, 3), f"decoded shape {decoded.shape}, expected {(height, width, 3)}"
        return encoded, decoded

    @staticmethod
    def psnr(a: np.ndarray, b: np.ndarray) -> float:
        mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
        return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)

    # -- the contract ------------------------------------------------------
    def test_is_a_codec(self, codec):
        assert isinstance(codec, Codec)
        if self.codec_name:
            assert codec.name == self.codec_name, f"codec.name {codec.name!r} differs from its registered name"
        assert codec.extension.startswith(".") and len(codec.extension) > 1
        assert "/" in codec.mime_type
        low, high = codec.quality_range
        assert low <= codec.default_quality <= high

    def test_round_trip_at_default_quality(self, codec):
        width, height = self.image_size
        self.round_trip(codec, sample_image(width, height))

    def test_best_quality_is_close_and_worst_is_smaller(self, codec):
        width, height = self.image_size
        image = sample_image(width, height, seed=1)
        worst, *_, best = codec.qualities_worst_to_best()
        small, _ = self.round_trip(codec, image, worst)
        large, decoded = self.round_trip(codec, image, best)
        assert len(small.data) < len(large.data), "the worst quality setting does not give a smaller file"
        assert self.psnr(image, decoded) >= self.min_psnr_at_best_quality

    def test_deterministic(self, codec):
        width, height = self.image_size
        image = sample_image(width, height, seed=2)
        assert codec.encode(image).data == codec.encode(image).data == self.make_codec().encode(image).data

    def test_input_not_modified(self, codec):
        width, height = self.image_size
        image = sample_image(width, height, seed=3)
        before = image.copy()
        codec.encode(image)
        np.testing.assert_array_equal(image, before, err_msg="encode() modified the input image")

    def test_accepts_its_own_bitstream_only(self, codec):
        width, height = self.image_size
        data = codec.encode(sample_image(width, height, seed=4)).data
        assert codec.accepts(data), "accepts() does not recognise the codec's own output"
        assert not codec.accepts(bytes(64)), "accepts() says yes to 64 zero bytes"

    def test_quality_out_of_range_is_a_usage_error(self, codec):
        low, high = codec.quality_range
        image = sample_image(8, 8)
        for bad in (low - 1, high + 1, 0.5 + low):
            with pytest.raises(UsageError):
                codec.encode(image, bad)

    def test_garbage_is_a_codec_error(self, codec):
        with pytest.raises(CodecError):
            codec.decode(b"this is not an image bitstream at all")

    def test_tiny_images(self, codec):
        for width, height in self.tiny_sizes:
            self.round_trip(codec, sample_image(width, height, seed=5))

    def test_huge_image(self, codec):
        width, height = self.huge_size
        self.round_trip(codec, sample_image(width, height, seed=6))
