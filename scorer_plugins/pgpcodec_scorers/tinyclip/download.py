"""Fetching checkpoints: Hugging Face repos through ``huggingface_hub``, release files by URL.

Downloads go to ``<models_dir()>/.downloads/<name>/`` and stay there only
while a pull is unfinished; a finished pull deletes the folder, and a file
whose SHA-256 does not match deletes it at once, so nothing corrupt stays in
the cache. A transfer that breaks off is resumed with an HTTP Range request
from where it stopped: for Hugging Face files by ``huggingface_hub`` itself
within the same pull (it retries up to five times, counting again whenever
data arrives, and deletes its partial file if it gives up); for release
files (hundreds of MB) the partial ``.incomplete`` file is also kept for the
next ``pgpcodec models pull``.

Hashes: the registry holds the SHA-256 of a file where it is known (none
are, so far). Where it is not, the first download's hash is recorded in
``<models_dir()>/.known-hashes.json`` and later downloads of the same file
(same repo, revision or URL) must match it: trust on first use.

``HF_ENDPOINT`` (another hub, or a mirror) and ``HF_HUB_OFFLINE`` are read
when a pull starts. Offline, only files already in the download folder are
used.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pgpcodec.codec_options import TRUE_WORDS
from pgpcodec.errors import MissingResourceError, PgpcodecError
from .cache import models_dir
from .registry import HubSource, UrlSource
from .verify import sha256_file

KNOWN_HASHES = ".known-hashes.json"
DOWNLOADS = ".downloads"


class DownloadError(PgpcodecError):
    """A download failed (network, missing file on the server)."""


class HashMismatchError(DownloadError):
    """A downloaded file's SHA-256 differs from the registry's or the recorded one."""


@dataclass(frozen=True)
class Fetched:
    """One downloaded file and how its hash was checked."""

    filename: str
    path: Path
    origin: str  # where it came from, for the manifest
    sha256: str
    size: int
    hash_check: str  # "registry", "recorded" (matched the first download) or "first-use" (recorded now)

    def record(self) -> dict:
        return {"from": self.origin, "sha256": self.sha256, "size": self.size, "hash_check": self.hash_check}


def offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` asks for no network access."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in TRUE_WORDS


def download_dir(name: str) -> Path:
    return models_dir() / DOWNLOADS / name


def pull_command(name: str) -> str:
    return f"pgpcodec models pull {name}"


def _offline_error(name: str, filename: str) -> MissingResourceError:
    return MissingResourceError(
        f"{filename} for {name} is not downloaded and HF_HUB_OFFLINE is set",
        f"unset HF_HUB_OFFLINE and run '{pull_command(name)}', "
        f"or bring the files over and run 'pgpcodec models import {name} PATH'",
    )


# ---- trust on first use ----------------------------------------------------------------------


def _known_hashes() -> dict:
    path = models_dir() / KNOWN_HASHES
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_hashes(fetched: list[Fetched]) -> None:
    """Remember the hashes of first downloads (written atomically)."""
    from pgpcodec.imaging import write_atomic

    known = _known_hashes()
    new = {f.origin: f.sha256 for f in fetched if f.hash_check == "first-use"}
    if new:
        known.update(new)
        write_atomic(models_dir() / KNOWN_HASHES, (json.dumps(known, indent=1, sort_keys=True) + "\n").encode(), force=True)


def _checked(name: str, staging: Path, filename: str, path: Path, origin: str, expected: str | None) -> Fetched:
    actual = sha256_file(path)
    recorded = _known_hashes().get(origin)
    reference, how = (expected, "registry") if expected else (recorded, "recorded") if recorded else (None, "first-use")
    if reference is not None and actual != reference:
        shutil.rmtree(staging, ignore_errors=True)
        where = "the registry" if how == "registry" else f"the first download (recorded in {models_dir() / KNOWN_HASHES})"
        raise HashMismatchError(
            f"{filename} for {name} has SHA-256 {actual}, but {where} says {reference}; the download was deleted",
            f"run '{pull_command(name)}' again; if it keeps failing the published file has changed or the mirror is corrupt",
        )
    return Fetched(filename, path, origin, actual, path.stat().st_size, how)


# ---- Hugging Face ----------------------------------------------------------------------------


def _require_hub() -> None:
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        raise MissingResourceError("downloading models needs huggingface_hub", "pip install 'pgpcodec[export]'") from None


def _hub_file(name: str, source: HubSource, filename: str, staging: Path, required: bool) -> Fetched | None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    origin = f"hf://{source.repo_id}@{source.revision}/{filename}"
    try:
        path = hf_hub_download(
            source.repo_id,
            filename,
            revision=source.revision,
            local_dir=staging,
            endpoint=os.environ.get("HF_ENDPOINT") or None,
            local_files_only=offline(),
        )
    # LocalEntryNotFoundError (offline, or the server unreachable) subclasses
    # EntryNotFoundError (the file is not in the repo), so it comes first.
    except LocalEntryNotFoundError:
        if offline():
            raise _offline_error(name, filename) from None
        raise DownloadError(
            f"cannot reach {os.environ.get('HF_ENDPOINT') or 'huggingface.co'} to download {filename} for {name}",
            f"check the network and run '{pull_command(name)}' again, "
            f"or bring the files over and run 'pgpcodec models import {name} PATH'",
        ) from None
    except EntryNotFoundError:
        if offline():
            raise _offline_error(name, filename) from None
        if not required:
            return None
        raise DownloadError(f"{source.repo_id}@{source.revision} has no file {filename}") from None
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise DownloadError(f"{source.describe()}: {type(exc).__name__}", "check the repo id and the revision", parameter="revision") from None
    except Exception as exc:  # httpx/OS errors and the hub's consistency checks
        raise DownloadError(
            f"downloading {filename} for {name} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            f"run '{pull_command(name)}' again",
        ) from None
    return _checked(name, staging, filename, Path(path), origin, source.sha256.get(filename))


def resolved_commit(staging: Path, filename: str) -> str | None:
    """The commit huggingface_hub resolved the revision to, from its download metadata."""
    try:
        from huggingface_hub._local_folder import read_download_metadata

        metadata = read_download_metadata(staging, filename)
    except Exception:  # private API: the commit is informational only
        return None
    return getattr(metadata, "commit_hash", None)


def fetch_hub(name: str, source: HubSource) -> tuple[Path, list[Fetched]]:
    """Download config, weights and tokenizer of a transformers CLIP repo into the download folder."""
    _require_hub()
    staging = download_dir(name)
    staging.mkdir(parents=True, exist_ok=True)
    try:
        fetched = [_hub_file(name, source, "config.json", staging, required=True)]
        for position, weights in enumerate(source.weights):
            got = _hub_file(name, source, weights, staging, required=position == len(source.weights) - 1)
            if got is not None:
                fetched.append(got)
                break
        tokenizer = _hub_file(name, source, "tokenizer.json", staging, required=False)
    except (DownloadError, MissingResourceError):
        # huggingface_hub cannot resume a file across pulls: keep nothing (locks, metadata) behind.
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging, fetched + ([tokenizer] if tokenizer is not None else [])


# ---- plain URLs (TinyCLIP release files) -------------------------------------------------------


def fetch_url(name: str, source: UrlSource) -> tuple[Path, list[Fetched]]:
    """Download a checkpoint by URL, resuming a partial download."""
    staging = download_dir(name)
    target = staging / source.filename
    if not target.is_file():
        if offline():
            raise _offline_error(name, source.filename)
        _require_hub()
        from huggingface_hub.file_download import http_get

        staging.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".incomplete")
        try:
            with open(partial, "ab") as handle:
                http_get(source.url, handle, resume_size=handle.tell(), displayed_filename=source.filename)
        except Exception as exc:
            kept = partial.stat().st_size
            if not kept:  # nothing to resume from
                shutil.rmtree(staging, ignore_errors=True)
            resumes = f" (it resumes from the {kept:,} bytes downloaded)" if kept else ""
            raise DownloadError(
                f"downloading {source.url} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                f"run '{pull_command(name)}' again{resumes}, "
                f"or bring the file over and run 'pgpcodec models import {name} PATH'",
            ) from None
        os.replace(partial, target)
    return staging, [_checked(name, staging, source.filename, target, source.url, source.sha256)]
