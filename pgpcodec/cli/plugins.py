"""``pgpcodec plugins``."""

from __future__ import annotations

import json

import click


def _status(info) -> str:
    if info.error:
        return f"[red]broken: {info.error}[/red]"
    if info.disabled:
        return "[yellow]not loaded (PGPCODEC_LOAD_PLUGINS)[/yellow]"
    return "\n".join(["ok", *(f"[yellow]conflict: {note}[/yellow]" for note in info.conflicts)])


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json):
    """List installed plugins: name, version, distribution, what each provides, and broken ones.

    Set PGPCODEC_LOAD_PLUGINS to a comma-separated list of plugin or
    distribution names to load only those third-party plugins (empty: none).
    """
    import warnings

    from ..plugins import KIND_LABELS, LOAD_PLUGINS_ENV, get_registry

    with warnings.catch_warnings(record=True):  # every problem is shown in the listing instead
        registry = get_registry()
        from . import plugin_commands

        plugin_commands()  # the commands each plugin adds are part of what it provides
    infos = registry.plugins()
    unknown = registry.unknown_requested
    if as_json:
        click.echo(json.dumps([info.to_dict() for info in infos], indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="pgpcodec plugins")
        for column in ("plugin", "version", "distribution", "provides", "status"):
            table.add_column(column)
        for info in infos:
            provides = "\n".join(f"{KIND_LABELS[k]}: {', '.join(sorted(v))}" for k, v in info.provides.items() if v)
            table.add_row(info.name, info.version or "-", info.distribution or "-", provides or "-", _status(info))
        Console().print(table)
    if unknown:
        click.echo(f"pgpcodec: warning: {LOAD_PLUGINS_ENV} names {', '.join(unknown)}, which no installed plugin provides", err=True)
    return 0
