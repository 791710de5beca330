"""The prompt-free scorers ``uniform`` and ``regions`` (:mod:`.basic`). Hooks only (docs/plugins.md, "module:attribute")."""

from pgpcodec import hookimpl


@hookimpl
def register_scorers(register):
    register("uniform", "pgpcodec_scorers.basic:UniformScorer")
    register("regions", "pgpcodec_scorers.basic:RegionsScorer")
