"""The built-in fit targets (:mod:`.rules`): gpt-4o, claude, qwen2.5-vl, internvl3, llava-onevision. Hooks only."""

from pgpcodec import hookimpl

NAMES = ("gpt-4o", "claude", "qwen2.5-vl", "internvl3", "llava-onevision")


def _factory(name: str):
    def factory():
        from .rules import BUILTIN_RULES

        return BUILTIN_RULES[name]

    return factory


@hookimpl
def register_fit_targets(register):
    for name in NAMES:
        register(name, _factory(name))
