"""The learned Cheng2020 codec through CompressAI (:mod:`.cheng2020`, extra ``cheng2020``). Hooks only (docs/plugins.md, "module:attribute")."""

from pgpcodec import hookimpl


@hookimpl
def register_codecs(register):
    register("cheng2020", "pgpcodec_codecs.cheng2020:Cheng2020Codec")
