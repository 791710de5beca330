"""``pgpcodec models``: list, pull, import, export, verify and remove scorer models."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pgpcodec.errors import InputError
from pgpcodec.cli.progress import PROGRESS_OPTION, progress_bars


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


@click.group("models")
def models() -> None:
    """Get, convert and check the models of the ONNX scorers (TinyCLIP).

    Models are cached in the user cache folder, or in $PGPCODEC_MODELS_DIR.
    """


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model on stdout.")
def list_models(as_json):
    """Known and installed models, with size and where each came from."""
    from .cache import models_dir
    from .install import installed_models
    from .registry import REGISTRY

    installed = {m.name: m for m in installed_models()}
    rows = []
    for name, entry in REGISTRY.items():
        model = installed.pop(name, None)
        rows.append(
            {
                "name": name,
                "title": entry.title,
                "parameters": entry.parameters,
                "installed": model is not None,
                "size": model.size if model else None,
                "origin": model.origin if model else "not installed; published at " + entry.sources[0].describe(),
            }
        )
    for name, model in installed.items():
        title = (model.manifest or {}).get("architecture", "?")
        rows.append({"name": name, "title": title, "parameters": "", "installed": True, "size": model.size, "origin": model.origin})
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return 0
    click.echo(f"models folder: {models_dir()}")
    for row in rows:
        size = _size(row["size"]) if row["size"] is not None else "-"
        click.echo(f"{row['name']:<14} {row['title']:<46} {size:>9}  {row['origin']}")
    return 0


@models.command("pull")
@click.argument("name")
@click.option("--revision", default=None, help="Hugging Face branch, tag or commit to download (default: the registry's pin, else main).")
@click.option("--as", "install_as", default=None, help="Install under this name (default: the registry name, or owner--repo).")
@click.option("--no-int8", is_flag=True, help="Skip the int8 quantised copies.")
@click.option("--force", is_flag=True, help="Download and export again even if installed.")
@PROGRESS_OPTION
def pull(name, revision, install_as, no_int8, force, show_progress):
    """Download NAME (tinyclip23/57/61/120, or a Hugging Face CLIP repo id) and export it to ONNX.

    Honours HF_ENDPOINT and HF_HUB_OFFLINE; an interrupted download resumes.
    """
    from .install import pull as pull_model

    with progress_bars(show_progress) as progress:
        target = pull_model(name, revision=revision, install_as=install_as, force=force, int8=not no_int8, progress=progress)
    click.echo(f"installed {target.name} in {target}", err=True)
    return 0


@models.command("import")
@click.argument("name")
@click.argument("path", type=click.Path(exists=True))
@click.option("--config", default=None, help="TinyCLIP architecture of a .pt checkpoint (default: NAME's, for registry names).")
@click.option("--no-int8", is_flag=True, help="Skip the int8 quantised copies.")
@click.option("--force", is_flag=True, help="Replace an installed model of that name.")
@PROGRESS_OPTION
def import_(name, path, config, no_int8, force, show_progress):
    """Install files brought over by hand as NAME.

    PATH is a model directory (checked against its manifest), a transformers
    CLIPModel folder, or a TinyCLIP .pt release file (exported here).
    """
    from .install import import_model

    with progress_bars(show_progress) as progress:
        target = import_model(name, Path(path), config=config, force=force, int8=not no_int8, progress=progress)
    click.echo(f"installed {name} in {target}", err=True)
    return 0


@models.command("export")
@click.option("--config", default=None, help="TinyCLIP architecture, e.g. TinyCLIP-ViT-8M-16-Text-3M.")
@click.option("--checkpoint", type=click.Path(exists=True, dir_okay=False), default=None, help="TinyCLIP/open_clip .pt checkpoint (with --config).")
@click.option("--hf", "hf_dir", type=click.Path(exists=True, file_okay=False), default=None, help="A transformers CLIPModel folder.")
@click.option("--random-init", is_flag=True, help="Random weights (with --config): for tests and speed measurements only.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --random-init.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Model directory to write.")
@click.option("--name", default=None, help="Name written in the manifest (default: the folder name).")
@click.option("--no-int8", is_flag=True, help="Skip the int8 quantised copies.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@PROGRESS_OPTION
def export(config, checkpoint, hf_dir, random_init, seed, out, name, no_int8, force, show_progress):
    """Export a CLIP checkpoint to the scorer's ONNX model directory.

    Give --hf DIR, or --config NAME with --checkpoint FILE or --random-init.
    """
    from pgpcodec.errors import UsageError
    from .export import hf_towers, tinyclip_configs, tinyclip_towers, write_model_dir

    if sum(bool(x) for x in (hf_dir, checkpoint, random_init)) != 1:
        raise UsageError("give exactly one of --hf, --checkpoint and --random-init")
    if hf_dir:
        towers = hf_towers(Path(hf_dir))
        source = {"exported_from": str(Path(hf_dir).resolve())}
    else:
        if not config:
            raise UsageError("--checkpoint and --random-init need --config", f"one of: {', '.join(tinyclip_configs())}")
        towers = tinyclip_towers(config, checkpoint=Path(checkpoint) if checkpoint else None, seed=seed)
        source = {"exported_from": str(Path(checkpoint).resolve()) if checkpoint else f"random-init {config} seed {seed}"}
    weights = "random-init" if random_init else "pretrained"
    with progress_bars(show_progress) as progress:
        target = write_model_dir(
            Path(out), towers, name=name or Path(out).name, weights=weights, source=source, int8=not no_int8, force=force, progress=progress
        )
    note = " (random weights: scores mean nothing)" if random_init else ""
    click.echo(f"exported {towers.architecture} to {target}{note}", err=True)
    return 0


@models.command("verify")
@click.argument("names", nargs=-1)
def verify(names):
    """Check the SHA-256 of every file of the installed models NAMES (default: all), or of model folders."""
    from .cache import is_model_name, model_path
    from .install import installed_models
    from .verify import verify_dir

    folders = [(model_path(n) if is_model_name(n) and not Path(n).is_dir() else Path(n)) for n in names] or [m.directory for m in installed_models()]
    if not folders:
        click.echo("no models installed", err=True)
        return 0
    failed = 0
    for folder in folders:
        try:
            checks = verify_dir(folder)
        except (OSError, ValueError) as exc:
            failed += 1
            click.echo(f"{folder.name}: FAILED: cannot read the manifest ({exc})")
            continue
        bad = [c for c in checks if not c.ok]
        failed += bool(bad)
        status = "ok" if not bad else "FAILED: " + "; ".join(c.describe() for c in bad)
        click.echo(f"{folder.name}: {status} ({len(checks)} files)")
    if failed:
        raise InputError(f"{failed} model(s) failed verification", "pull or import them again (pgpcodec models pull NAME --force)")
    return 0


@models.command("rm")
@click.argument("name")
def rm(name):
    """Remove the installed model NAME (and any unfinished download of it)."""
    from .install import remove

    for folder in remove(name):
        click.echo(f"removed {folder}", err=True)
    return 0
