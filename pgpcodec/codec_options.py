"""Codec options given as text (``--codec-option KEY=VALUE``) and how codecs read them.

Codec factories take keyword options (``preset``, ``qpa``, ``timeout``, …).
From the command line every value arrives as a string; factories convert
what they need with :func:`parse_bool` (and ``int``/``float``).
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import UsageError

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def parse_codec_options(items: Iterable[str]) -> dict[str, str]:
    """``["preset=slow", "qpa=1"]`` → ``{"preset": "slow", "qpa": "1"}``; a key given twice is an error."""
    options: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise UsageError(f"--codec-option {item!r} is not KEY=VALUE", "write it as e.g. --codec-option preset=slow")
        if key in options:
            raise UsageError(f"--codec-option {key} is given twice")
        options[key] = value.strip()
    return options


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


def check_options_accepted(factory, options: dict, codec_name: str) -> None:
    """Refuse options the codec factory does not take, listing the ones it does."""
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
            f"codec {codec_name!r} has no option {', '.join(unknown)}",
            f"its options: {', '.join(accepted) or 'none'}",
        )
