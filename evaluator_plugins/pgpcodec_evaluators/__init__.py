"""The built-in benchmark evaluators ``roi`` and ``openai`` (:mod:`pgpcodec.bench.evaluators`).

The entry-point module: hooks only, so loading the plugin imports nothing heavy.
"""

from __future__ import annotations

from pgpcodec import hookimpl


@hookimpl
def register_evaluators(register):
    register("roi", "pgpcodec.bench.evaluators:RoiEvaluator")
    register("openai", "pgpcodec.bench.evaluators:OpenAIEvaluator")
