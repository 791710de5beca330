"""The VVC codec through VVenC in ffmpeg (:mod:`.vvenc`). Hooks only (docs/plugins.md, "module:attribute")."""

from pgpcodec import hookimpl


@hookimpl
def register_codecs(register):
    register("vvenc", "pgpcodec_codecs.vvenc:VvencCodec")
