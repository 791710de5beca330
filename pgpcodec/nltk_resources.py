"""Finding and installing the NLTK data the ``nltk`` prompt processor needs.

Nothing here touches the network unless :func:`install` is called without a
local source: then it runs ``nltk.download``, an explicit user action.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .errors import MissingResourceError

RESOURCES = {
    # nltk.data.find path -> nltk.download package id
    "corpora/stopwords": "stopwords",
    "corpora/wordnet": "wordnet",
    "taggers/averaged_perceptron_tagger_eng": "averaged_perceptron_tagger_eng",
}
FIX = "run 'pgpcodec setup-nltk' (online) or 'pgpcodec setup-nltk --from DIR' with a copied nltk_data folder"


def default_target() -> Path:
    """``<environment>/share/nltk_data``: on NLTK's search path, private to this environment."""
    return Path(sys.prefix) / "share" / "nltk_data"


def missing() -> list[str]:
    """The resources NLTK cannot find."""
    import nltk

    absent = []
    for path in RESOURCES:
        try:
            nltk.data.find(path)
        except LookupError:
            absent.append(path)
    return absent


def require() -> None:
    absent = missing()
    if absent:
        raise MissingResourceError(f"NLTK data missing: {', '.join(absent)}", FIX)


def install(source: Path | None = None, target: Path | None = None) -> Path:
    """Copy the resources from ``source`` (an nltk_data folder), or download them when no source is given."""
    target = target or default_target()
    target.mkdir(parents=True, exist_ok=True)
    if source is not None:
        source = Path(source)
        for path in RESOURCES:
            origin = source / path
            if not origin.is_dir():
                raise MissingResourceError(f"{origin} does not exist", f"{source} is not a complete nltk_data folder")
            # Copy, never symlink: nltk >= 3.10 refuses links that leave its data root.
            shutil.copytree(origin, target / path, dirs_exist_ok=True)
        return target
    import nltk

    for package in RESOURCES.values():
        if not nltk.download(package, download_dir=str(target), quiet=True, raise_on_error=True):
            raise MissingResourceError(f"nltk.download({package!r}) failed", "check the network, or use --from DIR")
    return target
