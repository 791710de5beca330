"""pgpcodec codec plugin: JPEG XL through libjxl (the ``pillow-jxl-plugin`` package).

Registers the codec ``jxl``. Quality 0–99 is libjxl's lossy quality
(VarDCT, the mode that competes with JPEG, HEIC and AVIF); quality 100 is
mathematically lossless.
"""

from __future__ import annotations

import io

import numpy as np

from pgpcodec import hookimpl
from pgpcodec.errors import CodecError, UsageError
from pgpcodec.interfaces import Codec

__version__ = "0.1.0"

CODESTREAM_SIGNATURE = b"\xff\x0a"
CONTAINER_SIGNATURE = b"\x00\x00\x00\x0cJXL \r\n\x87\n"


class JpegXlCodec(Codec):
    """JPEG XL, quality 0–100 (100 = lossless), encoder effort 1–9 (libjxl's default 7)."""

    name = "jxl"
    extension = ".jxl"
    mime_type = "image/jxl"
    quality_range = (0, 100)
    default_quality = 75

    def __init__(self, *, effort: int = 7):
        if isinstance(effort, bool) or effort not in range(1, 10):
            raise UsageError(f"jxl effort {effort!r} is out of range", "use a whole number from 1 to 9")
        self.effort = effort

    def _encode(self, image: np.ndarray, quality: int) -> bytes:
        from PIL import Image
        import pillow_jxl  # noqa: F401  (registers the JXL format with Pillow)

        buffer = io.BytesIO()
        options = {"lossless": True} if quality == 100 else {"quality": quality}
        Image.fromarray(image).save(buffer, format="JXL", effort=self.effort, **options)
        return buffer.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        from PIL import Image
        import pillow_jxl  # noqa: F401

        if not self.accepts(data):
            raise CodecError("jxl: not a JPEG XL bitstream")
        try:
            with Image.open(io.BytesIO(data), formats=["JXL"]) as img:
                return np.asarray(img.convert("RGB"))
        except Exception as exc:
            raise CodecError(f"jxl: cannot decode bitstream ({exc})") from None

    def accepts(self, data: bytes) -> bool:
        return data.startswith(CODESTREAM_SIGNATURE) or data.startswith(CONTAINER_SIGNATURE)


@hookimpl
def register_codecs(register):
    register(JpegXlCodec.name, JpegXlCodec)
