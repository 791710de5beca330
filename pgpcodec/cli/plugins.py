"""``pgpcodec plugins``."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json):
    """List installed plugins: name, version, distribution, what each provides, and broken ones."""
    import warnings

    from ..plugins import KIND_LABELS, PluginLoadWarning, get_registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)  # shown in the table instead
        infos = get_registry().plugins()
    if as_json:
        click.echo(json.dumps([info.to_dict() for info in infos], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="pgpcodec plugins")
    for column in ("plugin", "version", "distribution", "provides", "status"):
        table.add_column(column)
    for info in infos:
        provides = "\n".join(f"{KIND_LABELS[k]}: {', '.join(sorted(v))}" for k, v in info.provides.items() if v)
        status = f"[red]broken: {info.error}[/red]" if info.error else "ok"
        table.add_row(info.name, info.version or "-", info.distribution or "-", provides or "-", status)
    Console().print(table)
    return 0
