"""The contract every pgpcodec codec keeps, as reusable pytest tests.

Built-in and third-party codecs run the same checks. A plugin author
subclasses :class:`CodecContractTests` in a test module::

    from pgpcodec.testing.codec_contract import CodecContractTests

    class TestMyCodec(CodecContractTests):
        codec_name = "mycodec"          # as registered by your plugin
        codec_options = {"speed": 3}    # passed to the factory

The checks: the decoded size equals the input size; bpp is counted on the
original pixels; encoding the same input twice gives the same bytes; the
quality range is validated; Pillow modes 1, L, LA, RGBA, P, I;16 and CMYK
and sizes 1×1, 15×17, 4000×3 and 16×16 either work or raise a clear
:class:`PgpcodecError`; a 12 MP photo round-trips (``huge_size``); the
worst quality setting gives a smaller file than the best; ``accepts()``
recognises the codec's own files and not zero bytes; a bitstream that is
not the codec's raises :class:`CodecError`; the input array is left
untouched; and a file that pgpcodec wrote decodes with an independent
decoder (Pillow for JPEG, WebP, AVIF and HEIC, ffmpeg for VVC ``.266``)
to nearly the same picture.
Every check is also a plain function (``check_*``) for use outside pytest.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import CodecError, PgpcodecError, UsageError
from ..interfaces import Codec
from ._shared import once_per_class
from .samples import image_in_mode, sample_image  # noqa: F401  (re-exported for codec tests)

MODES = ("1", "L", "LA", "RGBA", "P", "I;16", "CMYK")
SIZES = ((1, 1), (15, 17), (4000, 3), (16, 16))
"""(width, height) of the odd-shaped inputs."""
PILLOW_EXTENSIONS = (".jpg", ".webp", ".avif", ".heic")
INDEPENDENT_MIN_PSNR = 33.0
"""How close (dB) an independent decoder's picture must be to pgpcodec's own decode.

ffmpeg's own YUV→RGB differs from pgpcodec's in rounding and chroma
interpolation (≈ 40 dB on :func:`sample_image`); reading the stream with
the wrong matrix (BT.601 instead of the signalled BT.709) gives ≈ 28 dB."""


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


# -- the checks, as plain functions --------------------------------------------------


def check_roundtrip_size(codec: Codec, image, quality=None) -> np.ndarray:
    """Encode then decode; the decoded picture has the input's size and is (H, W, 3) uint8."""
    from ..imaging import as_rgb_array

    rgb = as_rgb_array(image)
    encoded = codec.encode(image, quality)
    decoded = codec.decode(encoded.data)
    assert decoded.dtype == np.uint8 and decoded.ndim == 3 and decoded.shape[2] == 3, f"decoded {decoded.dtype} {decoded.shape}"
    assert decoded.shape[:2] == rgb.shape[:2], f"decoded size {decoded.shape[1]}x{decoded.shape[0]}, input {rgb.shape[1]}x{rgb.shape[0]}"
    assert (encoded.width, encoded.height) == (rgb.shape[1], rgb.shape[0])
    return decoded


def check_bpp_on_original_pixels(codec: Codec, width: int = 15, height: int = 17) -> None:
    encoded = codec.encode(sample_image(width, height))
    assert (encoded.width, encoded.height) == (width, height), "EncodedImage must record the original size"
    assert encoded.bpp == 8.0 * len(encoded.data) / (width * height)


def check_deterministic(codec: Codec, image: np.ndarray, quality=None) -> None:
    first = codec.encode(image, quality).data
    second = codec.encode(image, quality).data
    assert first == second, "encoding the same input twice gave different bytes"


def check_quality_range(codec: Codec) -> None:
    low, high = codec.quality_range
    assert low <= codec.default_quality <= high, "default quality outside the quality range"
    ends = codec.qualities_worst_to_best()
    assert {ends[0], ends[-1]} == {low, high}
    assert codec.validate_quality(None) == codec.default_quality
    tiny = sample_image(16, 16)
    for bad in (low - 1, high + 1, low + 0.5, float("nan")):
        try:
            codec.encode(tiny, bad)
        except UsageError as exc:
            assert exc.message and exc.hint, "a quality error needs a message and a hint"
        else:
            raise AssertionError(f"{codec.name} accepted quality {bad!r} outside {low}–{high}")


def check_works_or_clear_error(codec: Codec, image) -> str:
    """Either a correct round trip ('ok') or a :class:`PgpcodecError` with a message ('error: …')."""
    try:
        check_roundtrip_size(codec, image)
    except PgpcodecError as exc:
        assert exc.message.strip(), "a PgpcodecError needs a message"
        return f"error: {exc}"
    return "ok"


def check_input_untouched(codec: Codec) -> None:
    image = sample_image(20, 18)
    before = image.copy()
    codec.encode(image)
    assert np.array_equal(image, before), "encode modified its input array"


def check_huge(codec: Codec, width: int, height: int) -> None:
    """A photo-sized picture round-trips at the default quality."""
    check_roundtrip_size(codec, sample_image(width, height, 6))


def check_quality_orders_size(codec: Codec, image: np.ndarray, best: int | None = None) -> None:
    worst, *_, codec_best = codec.qualities_worst_to_best()
    best = codec_best if best is None else best
    small, large = codec.encode(image, worst), codec.encode(image, best)
    assert len(small.data) < len(large.data), f"quality {worst} gave {len(small.data)} bytes, {best} gave {len(large.data)}"


def check_accepts_own_output(codec: Codec, image: np.ndarray) -> None:
    """``accepts()`` picks the codec for its own files (``pgpcodec decode`` relies on it), and not for zeros."""
    assert codec.accepts(codec.encode(image).data), "accepts() does not recognise the codec's own output"
    assert not codec.accepts(bytes(64)), "accepts() says yes to 64 zero bytes"


def check_garbage_is_codec_error(codec: Codec) -> None:
    try:
        codec.decode(b"this is not an image bitstream at all")
    except CodecError as exc:
        assert exc.message.strip(), "a CodecError needs a message"
    else:
        raise AssertionError("decoding garbage did not raise CodecError")


def independent_decode(extension: str, data: bytes) -> np.ndarray | None:
    """Decode with a decoder that is not the codec's own; None when none is known for ``extension``."""
    if extension in PILLOW_EXTENSIONS:
        from PIL import Image

        if extension == ".heic":
            import pillow_heif

            pillow_heif.register_heif_opener()
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGB"))
    if extension == ".266":
        import imageio_ffmpeg

        with tempfile.TemporaryDirectory(prefix="pgpcodec-contract-") as folder:
            source = Path(folder) / "input.266"
            source.write_bytes(data)
            result = subprocess.run(
                [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(source),
                 "-frames:v", "1", "-vf", "scale=flags=accurate_rnd+full_chroma_int", "-f", "image2pipe", "-vcodec", "png", "-pix_fmt", "rgb24", "-"],
                capture_output=True, timeout=120, check=True,
            )
        from PIL import Image

        with Image.open(io.BytesIO(result.stdout)) as img:
            return np.asarray(img.convert("RGB"))
    return None


def check_independent_decoder(codec: Codec, image: np.ndarray, quality=None) -> bool:
    """False when no independent decoder is known for the codec's files; else asserts agreement."""
    encoded = codec.encode(image, quality)
    other = independent_decode(codec.extension, encoded.data)
    if other is None:
        return False
    own = codec.decode(encoded.data)
    height, width = own.shape[:2]
    # A decoder that does not read pgpcodec's size note may show up to one extra padded column/row.
    assert other.shape[0] - height in (0, 1) and other.shape[1] - width in (0, 1), f"independent decode is {other.shape}"
    quality_db = psnr(own, other[:height, :width])
    assert quality_db >= INDEPENDENT_MIN_PSNR, f"independent decoder differs: {quality_db:.1f} dB"
    return True


# -- the pytest face -------------------------------------------------------------------


class CodecContractTests:
    """Subclass as ``TestSomething`` and set ``codec_name`` (and maybe the rest)."""

    codec_name: str = ""
    codec_options: dict = {}
    sizes: tuple[tuple[int, int], ...] = SIZES
    """Override to shrink slow codecs' cases; say why where you do."""
    huge_size: tuple[int, int] = (4000, 3000)
    """A 12 MP phone photo; override with a reason for codecs too slow for it in unit tests."""
    best_quality: int | None = None
    """The best setting the size-order check encodes at; None: the codec's best. Override with a reason."""
    modes: tuple[str, ...] = MODES
    expect_all_to_work: bool = False
    """True: every mode and size must round-trip (the built-ins); False: a clear error is acceptable."""

    def make_codec(self) -> Codec:
        from ..plugins import get_registry

        return get_registry().create("codec", self.codec_name, **self.codec_options)

    def codec(self) -> Codec:
        return once_per_class(self, "_contract_codec", self.make_codec)

    def test_roundtrip_keeps_size(self):
        check_roundtrip_size(self.codec(), sample_image(40, 30))

    def test_bpp_counts_original_pixels(self):
        check_bpp_on_original_pixels(self.codec())

    def test_deterministic(self):
        check_deterministic(self.codec(), sample_image(40, 30))

    def test_quality_range_validated(self):
        check_quality_range(self.codec())

    def test_input_untouched(self):
        check_input_untouched(self.codec())

    def test_modes(self):
        for mode in self.modes:
            outcome = check_works_or_clear_error(self.codec(), image_in_mode(mode))
            assert outcome == "ok" or not self.expect_all_to_work, f"mode {mode}: {outcome}"

    def test_sizes(self):
        for width, height in self.sizes:
            outcome = check_works_or_clear_error(self.codec(), sample_image(width, height))
            assert outcome == "ok" or not self.expect_all_to_work, f"{width}x{height}: {outcome}"

    def test_huge_image(self):
        check_huge(self.codec(), *self.huge_size)

    def test_worst_quality_is_smaller(self):
        check_quality_orders_size(self.codec(), sample_image(48, 36, 1), self.best_quality)

    def test_accepts_own_output(self):
        check_accepts_own_output(self.codec(), sample_image(40, 30, 2))

    def test_garbage_is_a_codec_error(self):
        check_garbage_is_codec_error(self.codec())

    def test_independent_decoder(self):
        import pytest

        if not check_independent_decoder(self.codec(), sample_image(48, 36)):
            pytest.skip(f"no independent decoder known for {self.codec().extension} files")
