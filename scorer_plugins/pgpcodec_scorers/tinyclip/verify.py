"""Hashing model files and checking a model directory against its manifest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .cache import MANIFEST_NAME

_CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """The lowercase hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileCheck:
    file: str
    expected: str | None
    actual: str | None  # None: the file is missing

    @property
    def ok(self) -> bool:
        return self.expected is not None and self.actual == self.expected

    def describe(self) -> str:
        if self.actual is None:
            return f"{self.file}: missing"
        if self.expected is None:
            return f"{self.file}: no hash in the manifest"
        return f"{self.file}: ok" if self.ok else f"{self.file}: SHA-256 mismatch (expected {self.expected[:12]}…, got {self.actual[:12]}…)"


def verify_dir(directory: Path) -> list[FileCheck]:
    """Hash every file the manifest lists and compare with its ``sha256`` entry.

    Raises ``FileNotFoundError``/``ValueError`` when there is no readable
    manifest; otherwise one :class:`FileCheck` per listed file.
    """
    manifest = json.loads((Path(directory) / MANIFEST_NAME).read_text(encoding="utf-8"))
    files = manifest.get("files")
    digests = manifest.get("sha256")
    if not isinstance(files, dict) or not isinstance(digests, dict):
        raise ValueError(f"{directory}/{MANIFEST_NAME} has no 'files' and 'sha256' objects")
    checks = []
    for file in files.values():
        path = Path(directory) / file
        checks.append(FileCheck(file, digests.get(file), sha256_file(path) if path.is_file() else None))
    return checks
