"""``pgpcodec install`` and ``pgpcodec uninstall``: pip, run in pgpcodec's own environment.

Like ``llm install``: whichever way pgpcodec was installed (a venv, pipx,
a system Python), plugins must land next to it for its entry points to be
found, so pip runs as ``sys.executable -m pip``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import warnings

import click

from ..errors import PgpcodecError, UsageError

PROTECTED = "pgpcodec"


class PipError(PgpcodecError):
    """pip is missing or failed; its own output says why."""


def run_pip(*args: str) -> None:
    """Run pip in this interpreter's environment, its output going straight to the user."""
    with warnings.catch_warnings():
        # Looking pip up runs setuptools' distutils shim, which warns about its own internals
        # ("Setuptools is replacing distutils") when anything imported distutils first: not the user's business.
        warnings.filterwarnings("ignore", message="Setuptools is replacing distutils")
        pip_found = importlib.util.find_spec("pip") is not None
    if not pip_found:
        raise PipError(
            f"pip is not available in pgpcodec's environment ({sys.prefix})",
            f"install it with: {sys.executable} -m ensurepip",
        )
    command = [sys.executable, "-m", "pip", *args]
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise PipError(f"pip {args[0]} failed (exit status {completed.returncode})", "see pip's messages above")


def _report_plugins(before: set[str]) -> None:
    """Say which plugins the change added or removed, from a fresh look at the entry points."""
    import importlib
    import warnings

    from ..plugins import get_registry, reset_registry

    importlib.invalidate_caches()
    reset_registry()
    with warnings.catch_warnings(record=True):
        infos = {info.name: info for info in get_registry().plugins()}
    for name in sorted(set(infos) - before):
        info = infos[name]
        if info.error:
            click.echo(f"plugin {name} ({info.distribution} {info.version}) is installed but broken: {info.error}", err=True)
        else:
            provides = "; ".join(f"{kind}: {', '.join(sorted(names))}" for kind, names in info.provides.items() if names)
            click.echo(f"plugin {name} ({info.distribution} {info.version}) provides {provides or 'nothing'}")
    for name in sorted(before - set(infos)):
        click.echo(f"plugin {name} removed")


def _plugin_names() -> set[str]:
    import warnings

    from ..plugins import get_registry

    with warnings.catch_warnings(record=True):
        return {info.name for info in get_registry().plugins()}


@click.command()
@click.argument("packages", nargs=-1)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade packages to the latest version.")
@click.option("-e", "--editable", "editable", multiple=True, metavar="PATH", help="Install a local project in editable mode (repeatable).")
@click.option("--force-reinstall", is_flag=True, help="Reinstall even if already up to date.")
@click.option("--no-cache-dir", is_flag=True, help="Disable pip's cache.")
@click.option("--pre", is_flag=True, help="Include pre-release and development versions.")
def install(packages, upgrade, editable, force_reinstall, no_cache_dir, pre):
    """Install plugin PACKAGES (names, paths or URLs) into pgpcodec's own environment.

    \b
    pgpcodec install pgpcodec-jxl
    pgpcodec install ./plugins/pgpcodec-saliency
    pgpcodec install -e ./my-plugin
    """
    if not packages and not editable:
        raise UsageError("nothing to install", "name a package, e.g. pgpcodec install pgpcodec-jxl")
    args = ["install"]
    for flag, on in (("--upgrade", upgrade), ("--force-reinstall", force_reinstall), ("--no-cache-dir", no_cache_dir), ("--pre", pre)):
        if on:
            args.append(flag)
    for path in editable:
        args += ["--editable", path]
    before = _plugin_names()
    run_pip(*args, *packages)
    _report_plugins(before)
    return 0


@click.command()
@click.argument("packages", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="Don't ask for confirmation.")
def uninstall(packages, yes):
    """Uninstall plugin PACKAGES from pgpcodec's own environment."""
    from ..plugins import normalise_name

    if any(normalise_name(p) == PROTECTED for p in packages):
        raise UsageError(
            "pgpcodec install/uninstall manage plugins; it will not uninstall pgpcodec itself",
            f"to remove pgpcodec, run: {sys.executable} -m pip uninstall pgpcodec",
        )
    before = _plugin_names()
    run_pip("uninstall", *(["--yes"] if yes else []), *packages)
    _report_plugins(before)
    return 0
