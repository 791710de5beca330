"""The ``text`` scorer and the ``ocr`` evaluator: PP-OCRv4 through RapidOCR (:mod:`.text`, extra ``text``).

The entry-point module: hooks only. The implementation is imported when a
name is first used, so loading the plugin costs nothing heavy.
"""

from __future__ import annotations

from pgpcodec import hookimpl


@hookimpl
def register_scorers(register):
    register("text", "pgpcodec_scorers.text:TextScorer")


@hookimpl
def register_evaluators(register):
    register("ocr", "pgpcodec_scorers.text:make_ocr_evaluator")
