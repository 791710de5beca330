"""Optional packages: a part that needs one checks for it up front and names the extra that installs it.

The base install is kept light (pyproject.toml): model runtimes, NLTK, ffmpeg
and plotting come with extras. Checking with :func:`require` before the
work starts gives the user one line with the fix (``pip install
'pgpcodec[tinyclip]'``) instead of a ``ModuleNotFoundError`` from deep inside
a call; the packages themselves are still imported where they are used, so
the check costs no import.
"""

from __future__ import annotations

import importlib.util
import sys

from .errors import MissingResourceError


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    if module in sys.modules:
        # None there is how Python (and a test) marks a module that must not import.
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(packages: dict[str, str], extra: str, user: str, *, distribution: str = "pgpcodec") -> None:
    """Raise :class:`MissingResourceError` naming ``distribution[extra]`` when a package is missing.

    ``packages`` maps an import name to the name pip installs it by
    (``{"pillow_heif": "pillow-heif"}``); ``user`` says what needs them
    (``"the heic codec"``).
    """
    missing = [package for module, package in packages.items() if not installed(module)]
    if missing:
        raise MissingResourceError(
            f"{user} needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed",
            f"pip install '{distribution}[{extra}]'",
        )
