"""The Pillow codecs: JPEG, WebP, AVIF and HEIC (:mod:`.pillow`).

The entry-point module: hooks only. The implementation is imported when a
name is first used, so loading the plugin costs nothing heavy.
"""

from __future__ import annotations

from pgpcodec import hookimpl


@hookimpl
def register_codecs(register):
    for name, cls in (("jpeg", "JpegCodec"), ("webp", "WebpCodec"), ("avif", "AvifCodec"), ("heic", "HeicCodec")):
        register(name, f"pgpcodec_codecs.pillow:{cls}")
