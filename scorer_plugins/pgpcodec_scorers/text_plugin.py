"""The ``text`` scorer and the ``ocr`` evaluator: PP-OCRv4 through RapidOCR (:mod:`.text`, extra ``text``). Hooks only (docs/plugins.md, "module:attribute")."""

from pgpcodec import hookimpl


@hookimpl
def register_scorers(register):
    register("text", "pgpcodec_scorers.text:TextScorer")


@hookimpl
def register_evaluators(register):
    register("ocr", "pgpcodec_scorers.text:make_ocr_evaluator")
