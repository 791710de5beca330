"""Where installed models live, and reading their manifests.

A model directory (format in docs/scorers.md) holds ONNX graphs, a
tokenizer and ``manifest.json``. Installed models live in
``<models_dir()>/<name>/``; :func:`resolve_model` also accepts a path to a
directory anywhere. Nothing here touches the network or imports
onnxruntime: fetching is ``pgpcodec models pull``.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType

from pgpcodec.errors import InputError, InvalidModelError, ModelNotFoundError, UsageError

MODELS_DIR_ENV = "PGPCODEC_MODELS_DIR"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "pgpcodec-clip-onnx"
MANIFEST_FORMAT_VERSION = 1
WEIGHT_KINDS = ("pretrained", "random-init")
REQUIRED_FILES = ("vision", "text", "tokenizer")
OPTIONAL_FILES = ("vision_int8", "text_int8")
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")


def models_dir() -> Path:
    """The folder that holds one ``<name>/`` folder per installed model.

    ``$PGPCODEC_MODELS_DIR`` when set, else ``models/`` in the user cache
    directory (platformdirs).
    """
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


def missing_model_error(name: str) -> ModelNotFoundError:
    """The error for a model that is not installed; a registry model carries the download it can offer."""
    from .registry import REGISTRY

    return ModelNotFoundError(
        f"model {name!r} is not installed in {models_dir()}",
        f"run 'pgpcodec models pull {name}' to download it, "
        f"or 'pgpcodec models import {name} PATH' on a machine without internet",
        model_name=name,
        fetch=functools.partial(pull_registered, name) if name in REGISTRY else None,
        fetch_question=f"The model {name} is not installed. Download and export it now?",
    )


def pull_registered(name: str) -> None:
    """Download and export the registry model ``name`` (``pgpcodec models pull NAME``)."""
    from .install import pull

    pull(name)


@dataclass(frozen=True)
class ModelManifest:
    """A validated ``manifest.json`` and the directory it describes."""

    directory: Path
    name: str
    architecture: str
    image_size: int
    context_length: int
    embed_dim: int
    logit_scale: float
    weights: str
    files: Mapping[str, str]
    sha256: Mapping[str, str]
    source: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("files", "sha256", "source"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def random_init(self) -> bool:
        """True for randomly initialised weights: figures measured with them must say so."""
        return self.weights == "random-init"

    def has(self, role: str) -> bool:
        """Whether the manifest lists a file for ``role`` (``vision``, ``text_int8``, …)."""
        return role in self.files

    def path(self, role: str) -> Path:
        """The file for ``role``; it must be listed and present."""
        if role not in self.files:
            raise InvalidModelError(f"model directory {self.directory} has no {role!r} file in its manifest")
        file = self.directory / self.files[role]
        if not file.is_file():
            raise InvalidModelError(
                f"model directory {self.directory}: {self.files[role]} is listed in {MANIFEST_NAME} but missing",
                repair_hint(self.directory),
            )
        return file


def repair_hint(directory: Path) -> str:
    """How to fix a broken model directory: pull it again if it is an installed model."""
    if directory.parent == models_dir() and is_model_name(directory.name):
        return f"reinstall it with 'pgpcodec models pull {directory.name}'"
    return "re-export the model directory, or use another one"


def _check(condition: bool, directory: Path, problem: str, hint: str) -> None:
    if not condition:
        raise InvalidModelError(f"model directory {directory}: {problem}", hint)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _safe_file_name(value: object) -> bool:
    """A relative path inside the model directory (no absolute paths, no '..')."""
    if not isinstance(value, str) or not value or "\\" in value:
        return False
    path = PurePosixPath(value)
    return not path.is_absolute() and ".." not in path.parts


def read_manifest(directory: str | os.PathLike) -> ModelManifest:
    """Read and validate ``directory/manifest.json``.

    Checks the format name and version, the types of every field, that the
    listed files are plain relative names with a SHA-256 each. It does not
    hash the files (``pgpcodec models verify`` does) or open the graphs.
    """
    directory = Path(directory)
    hint = repair_hint(directory)
    manifest_file = directory / MANIFEST_NAME
    try:
        data = json.loads(manifest_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidModelError(f"model directory {directory} has no {MANIFEST_NAME}", hint) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidModelError(f"{manifest_file} cannot be read as JSON: {exc}", hint) from None
    _check(isinstance(data, dict), directory, f"{MANIFEST_NAME} is not a JSON object", hint)
    _check(
        data.get("format") == MANIFEST_FORMAT,
        directory,
        f"{MANIFEST_NAME} has format {data.get('format')!r}, expected {MANIFEST_FORMAT!r}",
        hint,
    )
    version = data.get("format_version")
    _check(_positive_int(version), directory, f"format_version {version!r} is not a positive whole number", hint)
    _check(
        version <= MANIFEST_FORMAT_VERSION,
        directory,
        f"format_version {version} is newer than this pgpcodec reads ({MANIFEST_FORMAT_VERSION})",
        "upgrade pgpcodec",
    )
    for key in ("name", "architecture"):
        _check(isinstance(data.get(key), str) and data[key], directory, f"{key!r} must be a non-empty string", hint)
    for key in ("image_size", "context_length", "embed_dim"):
        _check(_positive_int(data.get(key)), directory, f"{key!r} must be a positive whole number, got {data.get(key)!r}", hint)
    scale = data.get("logit_scale")
    _check(
        isinstance(scale, (int, float)) and not isinstance(scale, bool),
        directory,
        f"'logit_scale' must be a number, got {scale!r}",
        hint,
    )
    _check(
        data.get("weights") in WEIGHT_KINDS,
        directory,
        f"'weights' must be one of {', '.join(WEIGHT_KINDS)}, got {data.get('weights')!r}",
        hint,
    )
    source = data.get("source", {})
    _check(isinstance(source, dict), directory, "'source' must be a JSON object", hint)
    files = data.get("files")
    _check(isinstance(files, dict), directory, "'files' must be a JSON object", hint)
    for role in REQUIRED_FILES:
        _check(role in files, directory, f"'files' lacks the {role!r} entry", hint)
    for role, name in files.items():
        _check(role in REQUIRED_FILES + OPTIONAL_FILES, directory, f"'files' has an unknown entry {role!r}", hint)
        _check(_safe_file_name(name), directory, f"file {name!r} for {role!r} is not a relative path inside the directory", hint)
    digests = data.get("sha256")
    _check(isinstance(digests, dict), directory, "'sha256' must be a JSON object", hint)
    for name in files.values():
        _check(
            isinstance(digests.get(name), str) and bool(_SHA256_PATTERN.fullmatch(digests[name])),
            directory,
            f"'sha256' has no valid lowercase hex digest for {name}",
            hint,
        )
    return ModelManifest(
        directory=directory,
        name=data["name"],
        architecture=data["architecture"],
        image_size=data["image_size"],
        context_length=data["context_length"],
        embed_dim=data["embed_dim"],
        logit_scale=float(scale),
        weights=data["weights"],
        files=files,
        sha256={name: digests[name] for name in files.values()},
        source=source,
    )


def resolve_model(model: str | os.PathLike) -> ModelManifest:
    """The manifest of an installed model (by name) or of a model directory (by path).

    A name is looked up in :func:`models_dir` first; only if it is not
    installed there is it tried as a path. A missing installed model raises
    :class:`ModelNotFoundError` naming the command that installs it.
    """
    text = os.fspath(model)
    if is_model_name(text):
        installed = model_path(text)
        if (installed / MANIFEST_NAME).is_file():
            return read_manifest(installed)
        if not os.path.isdir(text):
            # Also an interrupted install (folder without manifest): pulling again fixes it.
            raise missing_model_error(text)
    directory = Path(text).expanduser()
    if not directory.is_dir():
        raise InputError(
            f"{text}: no such model directory",
            f"give a folder that holds {MANIFEST_NAME}, or an installed model name such as tinyclip57",
        )
    return read_manifest(directory)
