"""Installing, listing and removing models in the cache (``pgpcodec models …``)."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pgpcodec import __version__
from pgpcodec.errors import InputError, UsageError
from .cache import MANIFEST_NAME, model_path, models_dir
from .download import DownloadError, Fetched, HashMismatchError, download_dir, fetch_hub, fetch_url, record_hashes, resolved_commit
from .registry import REGISTRY, HubSource, ModelEntry, UrlSource, lookup
from .verify import sha256_file, verify_dir


@dataclass(frozen=True)
class Installed:
    name: str
    directory: Path
    size: int
    manifest: dict | None  # None: unreadable (an interrupted or foreign folder)

    @property
    def origin(self) -> str:
        if self.manifest is None:
            return "no readable manifest.json"
        source = self.manifest.get("source") or {}
        where = source.get("repo") or source.get("url") or source.get("imported_from") or source.get("exported_from") or "?"
        return f"{self.manifest.get('weights', '?')}: {where}"


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def installed_models() -> list[Installed]:
    """Every ``<models_dir>/<name>/`` folder (hidden download folders excluded)."""
    root = models_dir()
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            manifest = json.loads((folder / MANIFEST_NAME).read_text())
        except (OSError, ValueError):
            manifest = None
        found.append(Installed(folder.name, folder, _folder_size(folder), manifest))
    return found


def _source_record(entry: ModelEntry, source: HubSource | UrlSource, staging: Path, fetched: list[Fetched]) -> dict:
    record = {"registry_name": entry.name if entry.name in REGISTRY else None, "title": entry.title}
    if isinstance(source, HubSource):
        record.update(repo=source.repo_id, revision=source.revision, commit=resolved_commit(staging, fetched[0].filename))
    else:
        record.update(url=source.url)
    record["files"] = {f.filename: f.record() for f in fetched}
    record["exported_by"] = f"pgpcodec {__version__}"
    return {k: v for k, v in record.items() if v is not None}


def _towers_for(entry: ModelEntry, source: HubSource | UrlSource, staging: Path, fetched: list[Fetched]):
    from .export import hf_towers, tinyclip_towers

    if isinstance(source, HubSource):
        return hf_towers(staging)
    if not entry.architecture:
        raise UsageError(f"{entry.name}: a .pt checkpoint needs a TinyCLIP config name", "say which TinyCLIP config it is", parameter="config")
    return tinyclip_towers(entry.architecture, checkpoint=fetched[0].path)


def pull(
    name_or_repo: str, *, revision: str | None = None, install_as: str | None = None, force: bool = False, int8: bool = True, progress=None
) -> Path:
    """Download a registry model (or a Hugging Face CLIP repo), export it to ONNX and install it."""
    from .export import write_model_dir

    entry = lookup(name_or_repo, revision)
    name = install_as or entry.name
    target = model_path(name)
    if (target / MANIFEST_NAME).is_file() and not force:
        raise InputError(f"{name} is already installed in {target}", "ask for it to be downloaded and exported again", parameter="force")
    failures = []
    for source in entry.sources:
        try:
            staging, fetched = fetch_hub(name, source) if isinstance(source, HubSource) else fetch_url(name, source)
        except HashMismatchError:
            raise
        except DownloadError as exc:
            failures.append(exc)
            continue
        towers = _towers_for(entry, source, staging, fetched)
        write_model_dir(target, towers, name=name, weights="pretrained", source=_source_record(entry, source, staging, fetched), int8=int8, force=True,
                        progress=progress)
        record_hashes(fetched)
        shutil.rmtree(staging, ignore_errors=True)
        return target
    if len(failures) == 1:
        raise failures[0]
    raise DownloadError(
        f"every source of {name} failed: " + "; ".join(f.message for f in failures),
        failures[-1].hint,
    )


def import_model(name: str, path: Path, *, config: str | None = None, force: bool = False, int8: bool = True, progress=None) -> Path:
    """Install files brought over by hand: a model directory, a transformers folder or a TinyCLIP .pt file."""
    from .export import hf_towers, tinyclip_towers, write_model_dir

    path = Path(path)
    target = model_path(name)
    if (target / MANIFEST_NAME).is_file() and not force:
        raise InputError(f"{name} is already installed in {target}", "ask for it to be replaced", parameter="force")
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    source = {"imported_from": str(path.resolve()), "exported_by": f"pgpcodec {__version__}"}
    if path.is_dir() and (path / MANIFEST_NAME).is_file():
        return _import_model_dir(name, path, target)
    if path.is_dir():
        towers = hf_towers(path)
    else:
        architecture = config or (REGISTRY[name].architecture if name in REGISTRY else None)
        if architecture is None:
            raise UsageError(f"{path} is a checkpoint file; say which TinyCLIP architecture it is", "name its TinyCLIP config", parameter="config")
        source["files"] = {path.name: {"sha256": sha256_file(path), "size": path.stat().st_size}}
        _check_known_hash(name, path, source["files"][path.name]["sha256"])
        towers = tinyclip_towers(architecture, checkpoint=path)
    return write_model_dir(target, towers, name=name, weights="pretrained", source=source, int8=int8, force=True, progress=progress)


def _check_known_hash(name: str, path: Path, actual: str) -> None:
    """A hand-carried release file must match the registry's hash where one is known."""
    entry = REGISTRY.get(name)
    for source in entry.sources if entry else ():
        if isinstance(source, UrlSource) and source.filename == path.name and source.sha256 and source.sha256 != actual:
            raise HashMismatchError(f"{path} has SHA-256 {actual}, but the registry says {source.sha256}", "bring the file over again")


def _import_model_dir(name: str, path: Path, target: Path) -> Path:
    """Copy a ready model directory after checking every file against its manifest."""
    from .export import replace_dir

    bad = [c.describe() for c in verify_dir(path) if not c.ok]
    if bad:
        raise InputError(f"{path}: " + "; ".join(bad), "copy the model directory again")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".import-", dir=target.parent) as scratch:
        staged = Path(scratch) / "model"
        shutil.copytree(path, staged)
        manifest = json.loads((staged / MANIFEST_NAME).read_text())
        manifest.setdefault("source", {})["imported_from"] = str(path.resolve())
        (staged / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        replace_dir(staged, target)
    return target


def remove(name: str) -> list[Path]:
    """Delete an installed model and any unfinished download of it; returns what was removed."""
    removed = []
    for folder in (model_path(name), download_dir(name)):
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(folder)
    if not removed:
        raise InputError(f"{name} is not installed in {models_dir()}", "see 'pgpcodec models list'")
    return removed
