"""Known TinyCLIP models: where each is published and what it is made of.

Sources (checked 2026-11-21 from public pages and code, not by downloading:
no model host is reachable from the machine this was written on):

- Hugging Face repos ``wkcn/TinyCLIP-*`` hold ``transformers`` CLIPModel
  checkpoints (``config.json``, ``pytorch_model.bin``, ``tokenizer.json``).
  ``wkcn/TinyCLIP-ViT-8M-16-Text-3M-YFCC15M`` has those files in its first
  commit ``b6ffcf48…`` (seen in the repo's commit page), so it is pinned to
  that commit. ``wkcn/TinyCLIP-ViT-39M-16-Text-19M-YFCC15M`` is used by id
  in public code; its commit is not known here, so it follows ``main``.
- The TinyCLIP model zoo publishes open_clip-style ``.pt`` checkpoints as
  GitHub release files of ``wkcn/TinyCLIP-model-zoo`` (tag ``checkpoints``);
  the URLs are the ones in TinyCLIP's own ``pretrained.py`` (vendored
  package) and README. The ``auto`` variants are only published there, as
  structurally pruned checkpoints (no Hugging Face repo was found for them).

No SHA-256 is known for any of these files: they are ``None`` ("unknown")
below and never guessed. ``pgpcodec models pull`` records the hash of what
it downloads on first use (trust on first use, see :mod:`.download`) and
checks later downloads against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pgpcodec.errors import UsageError

TINYCLIP_RELEASES = "https://github.com/wkcn/TinyCLIP-model-zoo/releases/download/checkpoints/"


@dataclass(frozen=True)
class HubSource:
    """A Hugging Face repo holding a ``transformers`` CLIPModel checkpoint.

    ``weights`` are tried in order (the first that exists is used);
    ``config.json`` is required and ``tokenizer.json`` used when present.
    ``sha256`` maps file names to known hashes; absent means unknown.
    """

    repo_id: str
    revision: str = "main"
    weights: tuple[str, ...] = ("model.safetensors", "pytorch_model.bin")
    sha256: dict = field(default_factory=dict)

    def describe(self) -> str:
        return f"hf://{self.repo_id}@{self.revision}"


@dataclass(frozen=True)
class UrlSource:
    """A TinyCLIP/open_clip ``.pt`` checkpoint at a plain URL (GitHub release file)."""

    url: str
    sha256: str | None = None  # None: unknown, recorded on first download

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def describe(self) -> str:
        return self.url


@dataclass(frozen=True)
class ModelEntry:
    """A registry entry: ``sources`` are tried in order by ``pgpcodec models pull``."""

    name: str
    title: str
    architecture: str  # a TinyCLIP config name (scorer_plugins/pgpcodec_scorers/tinyclip/_tinyclip/model_configs)
    sources: tuple[HubSource | UrlSource, ...]
    parameters: str  # as published: image tower + text tower
    notes: str = ""


def _release(stem: str) -> UrlSource:
    return UrlSource(TINYCLIP_RELEASES + stem + ".pt")


REGISTRY: dict[str, ModelEntry] = {
    entry.name: entry
    for entry in (
        ModelEntry(
            "tinyclip23",
            "TinyCLIP-ViT-8M-16-Text-3M-YFCC15M",
            "TinyCLIP-ViT-8M-16-Text-3M",
            (
                HubSource(
                    "wkcn/TinyCLIP-ViT-8M-16-Text-3M-YFCC15M",
                    "b6ffcf486212e8f3863b8009a4021dbea481b817",
                    weights=("pytorch_model.bin",),
                ),
                _release("TinyCLIP-ViT-8M-16-Text-3M-YFCC15M"),
            ),
            "8M + 3M",
            "smallest; manual weight inheritance",
        ),
        ModelEntry(
            "tinyclip57",
            "TinyCLIP-auto-ViT-22M-32-Text-10M-LAION400M",
            "TinyCLIP-auto-ViT-22M-32-Text-10M",
            (_release("TinyCLIP-auto-ViT-22M-32-Text-10M-LAION400M"),),
            "22M + 10M",
            "the paper's default; structurally pruned (auto), release file only",
        ),
        ModelEntry(
            "tinyclip61",
            "TinyCLIP-ViT-39M-16-Text-19M-YFCC15M",
            "TinyCLIP-ViT-39M-16-Text-19M",
            (
                HubSource("wkcn/TinyCLIP-ViT-39M-16-Text-19M-YFCC15M"),
                _release("TinyCLIP-ViT-39M-16-Text-19M-YFCC15M"),
            ),
            "39M + 19M",
            "the reference code's default",
        ),
        ModelEntry(
            "tinyclip120",
            "TinyCLIP-auto-ViT-63M-32-Text-31M-LAION400M",
            "TinyCLIP-auto-ViT-63M-32-Text-31M",
            (_release("TinyCLIP-auto-ViT-63M-32-Text-31M-LAION400M"),),
            "63M + 31M",
            "structurally pruned (auto), release file only",
        ),
    )
}


def looks_like_hub_id(text: str) -> bool:
    """``owner/name`` with no path oddities: a Hugging Face repo id."""
    parts = text.split("/")
    return len(parts) == 2 and all(parts) and not text.startswith((".", "/")) and ".." not in text


def hub_install_name(repo_id: str) -> str:
    """The default installed name for a Hugging Face repo id (``owner--name``)."""
    return repo_id.replace("/", "--")


def lookup(name_or_repo: str, revision: str | None = None) -> ModelEntry:
    """The registry entry for a known name, or an ad-hoc entry for a Hugging Face CLIP repo id."""
    if name_or_repo in REGISTRY:
        entry = REGISTRY[name_or_repo]
        if revision is None:
            return entry
        hub = [s for s in entry.sources if isinstance(s, HubSource)]
        if not hub:
            raise UsageError(f"{name_or_repo} is published as a release file only; a revision does not apply", parameter="revision")
        pinned = HubSource(hub[0].repo_id, revision, weights=HubSource.weights)
        return ModelEntry(entry.name, entry.title, entry.architecture, (pinned,), entry.parameters, entry.notes)
    if looks_like_hub_id(name_or_repo):
        return ModelEntry(
            hub_install_name(name_or_repo),
            name_or_repo,
            "",
            (HubSource(name_or_repo, revision or "main"),),
            "unknown",
            "any Hugging Face transformers CLIPModel repo",
        )
    raise UsageError(
        f"unknown model {name_or_repo!r}",
        f"known names: {', '.join(REGISTRY)}; or give a Hugging Face repo id such as openai/clip-vit-base-patch32",
    )
