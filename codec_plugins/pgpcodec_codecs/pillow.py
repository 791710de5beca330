"""In-process codecs through Pillow (and pillow-heif for HEIC/HEVC)."""

from __future__ import annotations

import io

import numpy as np

from pgpcodec.errors import CodecError, PgpcodecError
from pgpcodec.imaging import check_pixel_limit
from pgpcodec.interfaces import Codec


class PillowCodec(Codec):
    """A codec that Pillow writes and reads in process.

    Subclasses set ``pillow_format`` and the fixed ``save_options``; the
    quality goes in as Pillow's ``quality``.
    """

    pillow_format = ""
    save_options: dict = {}

    def _encode(self, image: np.ndarray, quality: int) -> bytes:
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format=self.pillow_format, quality=quality, **self.save_options)
        return buffer.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        from PIL import Image

        self._prepare_decoder()
        try:
            with Image.open(io.BytesIO(data)) as img:
                check_pixel_limit(*img.size, f"{self.name} bitstream")
                return np.asarray(img.convert("RGB"))
        except PgpcodecError:
            raise
        except Exception as exc:
            raise CodecError(f"{self.name}: cannot decode bitstream ({exc})") from None

    def _prepare_decoder(self) -> None:
        """Hook for codecs whose Pillow support is a plugin to register."""


class JpegCodec(PillowCodec):
    """Baseline JPEG (libjpeg-turbo via Pillow), 4:2:0, quality 1–100."""

    name = "jpeg"
    extension = ".jpg"
    mime_type = "image/jpeg"
    quality_range = (1, 100)
    bench_qualities = (20, 35, 50, 75)  # the settings pgpcodec bench sweeps, worst to best
    default_quality = 75
    pillow_format = "JPEG"
    save_options = {"subsampling": "4:2:0"}

    def accepts(self, data: bytes) -> bool:
        return data[:3] == b"\xff\xd8\xff"


class WebpCodec(PillowCodec):
    """Lossy WebP (libwebp), quality 0–100, method 4."""

    name = "webp"
    extension = ".webp"
    mime_type = "image/webp"
    quality_range = (0, 100)
    bench_qualities = (20, 40, 60, 80)  # the settings pgpcodec bench sweeps, worst to best
    default_quality = 75
    pillow_format = "WEBP"
    save_options = {"method": 4, "lossless": False}

    def accepts(self, data: bytes) -> bool:
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


class AvifCodec(PillowCodec):
    """AVIF (AV1 intra, libaom via Pillow ≥ 11.2), quality 0–100, 4:2:0."""

    name = "avif"
    extension = ".avif"
    mime_type = "image/avif"
    quality_range = (0, 100)
    bench_qualities = (20, 40, 60, 80)  # the settings pgpcodec bench sweeps, worst to best
    default_quality = 60
    pillow_format = "AVIF"
    save_options = {"speed": 6, "subsampling": "4:2:0"}

    def accepts(self, data: bytes) -> bool:
        return data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis")


class HeicCodec(PillowCodec):
    """HEIC: HEVC intra (x265 through pillow-heif), quality 0–100, 4:2:0."""

    name = "heic"
    extension = ".heic"
    mime_type = "image/heic"
    quality_range = (0, 100)
    bench_qualities = (30, 45, 60, 75)  # the settings pgpcodec bench sweeps, worst to best
    default_quality = 50
    pillow_format = "HEIF"
    save_options = {"chroma": 420}

    def accepts(self, data: bytes) -> bool:
        return data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"heim", b"heis", b"mif1")

    def _prepare_decoder(self) -> None:
        import pillow_heif

        pillow_heif.register_heif_opener()

    def _encode(self, image: np.ndarray, quality: int) -> bytes:
        self._prepare_decoder()
        return super()._encode(image, quality)
