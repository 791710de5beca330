"""The learned Cheng2020 codec through CompressAI (:mod:`.cheng2020`, extra ``cheng2020``).

The entry-point module: hooks only. The implementation is imported when a
name is first used, so loading the plugin costs nothing heavy.
"""

from __future__ import annotations

from pgpcodec import hookimpl


@hookimpl
def register_codecs(register):
    register("cheng2020", "pgpcodec_codecs.cheng2020:Cheng2020Codec")
