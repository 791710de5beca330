"""The VVC codec through VVenC in ffmpeg (:mod:`.vvenc`).

The entry-point module: hooks only. The implementation is imported when a
name is first used, so loading the plugin costs nothing heavy.
"""

from __future__ import annotations

from pgpcodec import hookimpl


@hookimpl
def register_codecs(register):
    register("vvenc", "pgpcodec_codecs.vvenc:VvencCodec")
