"""The Pillow codecs: JPEG, WebP, AVIF and HEIC (:mod:`.pillow`). Hooks only (docs/plugins.md, "module:attribute")."""

from pgpcodec import hookimpl


@hookimpl
def register_codecs(register):
    for name, cls in (("jpeg", "JpegCodec"), ("webp", "WebpCodec"), ("avif", "AvifCodec"), ("heic", "HeicCodec")):
        register(name, f"pgpcodec_codecs.pillow:{cls}")
