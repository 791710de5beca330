"""The built-in benchmark evaluators ``roi`` (:mod:`.roi`) and ``openai`` (:mod:`.openai`).

The entry-point module: hooks only, so loading the plugin imports nothing heavy.
"""

from __future__ import annotations

from pgpcodec import hookimpl


@hookimpl
def register_evaluators(register):
    register("roi", "pgpcodec_evaluators.roi:RoiEvaluator")
    register("openai", "pgpcodec_evaluators.openai:OpenAIEvaluator")
