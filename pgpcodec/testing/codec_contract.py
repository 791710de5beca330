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
:class:`PgpcodecError`; the input array is left untouched; and a file that
pgpcodec wrote decodes with an independent decoder (Pillow for JPEG, WebP,
AVIF and HEIC, ffmpeg for VVC ``.266``) to nearly the same picture.
Every check is also a plain function (``check_*``) for use outside pytest.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import PgpcodecError, UsageError
from ..interfaces import Codec

MODES = ("1", "L", "LA", "RGBA", "P", "I;16", "CMYK")
SIZES = ((1, 1), (15, 17), (4000, 3), (16, 16))
"""(width, height) of the odd-shaped inputs."""
PILLOW_EXTENSIONS = (".jpg", ".webp", ".avif", ".heic")
INDEPENDENT_MIN_PSNR = 33.0
"""How close (dB) an independent decoder's picture must be to pgpcodec's own decode.

ffmpeg's own YUV→RGB differs from pgpcodec's in rounding and chroma
interpolation (≈ 40 dB on :func:`sample_image`); reading the stream with
the wrong matrix (BT.601 instead of the signalled BT.709) gives ≈ 28 dB."""


def sample_image(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A deterministic photo-like test picture: smooth colour ramps, an edge and mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    fx, fy = x / max(width - 1, 1), y / max(height - 1, 1)
    red = 200 * fx + 30
    green = 180 * fy + 40 * np.sin(6 * fx)
    blue = np.where(fx + fy > 1.0, 190.0, 60.0)
    image = np.stack([red, green, blue], axis=-1) + rng.normal(0, 4, (height, width, 3))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def image_in_mode(mode: str, width: int = 24, height: int = 20):
    """A Pillow image in ``mode`` made from :func:`sample_image`."""
    from PIL import Image

    rgb = Image.fromarray(sample_image(width, height))
    if mode == "I;16":
        gray = np.asarray(rgb.convert("L"), dtype=np.uint16) * 257
        return Image.frombytes("I;16", rgb.size, gray.astype("<u2").tobytes())
    return rgb.convert(mode)


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
    modes: tuple[str, ...] = MODES
    expect_all_to_work: bool = False
    """True: every mode and size must round-trip (the built-ins); False: a clear error is acceptable."""

    def make_codec(self) -> Codec:
        from ..plugins import get_registry

        return get_registry().create("codec", self.codec_name, **self.codec_options)

    def codec(self) -> Codec:
        cached = getattr(type(self), "_contract_codec", None)
        if cached is None:  # one instance per class: learned codecs load their model once
            cached = self.make_codec()
            type(self)._contract_codec = cached
        return cached

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

    def test_independent_decoder(self):
        import pytest

        if not check_independent_decoder(self.codec(), sample_image(48, 36)):
            pytest.skip(f"no independent decoder known for {self.codec().extension} files")
