"""The prompt-free scorers ``uniform`` and ``regions`` (:mod:`.basic`).

The entry-point module: hooks only. The implementation is imported when a
name is first used, so loading the plugin costs nothing heavy.
"""

from __future__ import annotations

from pgpcodec import hookimpl


@hookimpl
def register_scorers(register):
    register("uniform", "pgpcodec_scorers.basic:UniformScorer")
    register("regions", "pgpcodec_scorers.basic:RegionsScorer")
