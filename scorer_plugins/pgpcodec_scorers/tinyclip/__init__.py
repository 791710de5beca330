"""The tinyclip plugin: ONNX CLIP scorers (TinyCLIP), their model store and ``pgpcodec models``.

This module is what the entry point loads, so it holds only the hooks: the
scorer (:mod:`.scorer`, onnxruntime, tokenizers) and the commands
(:mod:`.commands`) are imported when first used, and ``pgpcodec --help``
or ``pgpcodec plugins`` pay for neither.
"""

from __future__ import annotations

from pgpcodec import hookimpl

MODEL_NAMES = ("tinyclip23", "tinyclip57", "tinyclip61", "tinyclip120")
"""Scorer names bound to the installed model of the same name (``pgpcodec models pull NAME``)."""
DEFAULT_MODEL = "tinyclip57"


@hookimpl
def register_scorers(register):
    register("tinyclip", f"{__name__}.scorer:TinyClipScorer")
    for model_name in MODEL_NAMES:
        register(model_name, f"{__name__}.scorer:{model_name}")


@hookimpl
def register_commands(cli):
    from .commands import models

    cli.add_command(models)
