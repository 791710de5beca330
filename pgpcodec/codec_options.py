"""How codec factories read their keyword options (``preset``, ``qpa``, ``timeout``, …).

From the command line (``--codec-option KEY=VALUE``, parsed by
:func:`pgpcodec.cli.options.parse_options`) values arrive as numbers, booleans
or strings; factories convert what they need with :func:`parse_bool` (and
``int``/``float``), so Python callers may pass either form.
"""

from __future__ import annotations

from .errors import UsageError

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def parse_bool(value: bool | int | str, what: str) -> bool:
    """A boolean option from a bool or a word (true/false, yes/no, on/off, 1/0)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise UsageError(f"{what} must be true or false, got {value!r}")


def check_options_accepted(factory, options: dict, codec_name: str, kind: str = "codec") -> None:
    """Refuse options the factory of a ``kind`` (codec, scorer, …) does not take, listing the ones it does.

    A factory taking ``**options`` decides for itself; one that forwards them
    can declare what it takes with a ``__signature__``.
    """
    import inspect

    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # a factory without a signature: let it decide
        return
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return
    accepted = sorted(p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise UsageError(
            f"{kind} {codec_name!r} has no option {', '.join(unknown)}",
            f"its options: {', '.join(accepted) or 'none'}",
        )
