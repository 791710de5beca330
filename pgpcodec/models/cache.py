"""Where installed models live (shared model-directory spec, v1).

Installed models are ``<models_dir()>/<name>/`` folders; the environment
variable ``PGPCODEC_MODELS_DIR`` overrides the platformdirs user cache.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import UsageError

MODELS_DIR_ENV = "PGPCODEC_MODELS_DIR"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "pgpcodec-clip-onnx"
MANIFEST_FORMAT_VERSION = 1
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def models_dir() -> Path:
    """The folder that holds one ``<name>/`` folder per installed model."""
    override = os.environ.get(MODELS_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pgpcodec")) / "models"


def is_model_name(text: str) -> bool:
    """Whether ``text`` can name an installed model (no path separators, no leading dot)."""
    return bool(_NAME_PATTERN.fullmatch(text))


def model_path(name: str) -> Path:
    """The directory an installed model called ``name`` lives in (whether or not it exists)."""
    if not is_model_name(name):
        raise UsageError(
            f"{name!r} is not a valid model name",
            "model names use letters, digits, '.', '_' and '-', e.g. tinyclip57",
        )
    return models_dir() / name
