"""``pgpcodec bdrate``: BD-rates of rate–metric points from anywhere (a paper, a VLMEvalKit run, another tool)."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("points", type=click.Path(dir_okay=False))
@click.option("--pairs", required=True, metavar="ANCHOR:TEST,...", help="Curves to compare, e.g. plain-JPEG:pgp-JPEG,plain-HEVC:pgp-HEVC.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: per pair, each group's value and dropped points, and the mean.")
def bdrate(points, pairs, as_json):
    """BD-rates (%) of TEST against ANCHOR at equal score, from a CSV or JSONL file.

    POINTS has the columns curve, bpp and score; every other column (dataset,
    model, …) is a group. Each curve is reduced to its monotone upper
    envelope (points whose score is not above every lower-bpp point's are
    left out and listed), then bjontegaard's pchip gives the BD-rate per
    group; the last column is the mean over the groups.
    """
    from ..bench.bdrate import pair_rates, parse_pairs, read_points

    table = read_points(points)
    results = pair_rates(table, parse_pairs(pairs, table.curve_names()))
    if as_json:
        payload = {"points": str(points), "group_columns": list(table.group_columns),
                   "pairs": [r.to_dict(table.group_columns) for r in results]}
        click.echo(json.dumps(payload, indent=2))
        return 0
    print_pairs(results, table.group_columns)
    return 0


def print_pairs(results, group_columns) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True, width=160)  # files and pipes get the whole table on one line per row
    keys = list(dict.fromkeys(key for r in results for key in r.groups))
    table = Table(title="BD-rate of TEST vs ANCHOR at equal score (negative = fewer bits; * = see note)")
    table.add_column("pair")
    for key in keys:
        table.add_column(" / ".join(key) or "all", justify="right")
    table.add_column("mean", justify="right", style="bold")
    for result in results:
        cells = [result.groups[key].cell() if key in result.groups else "" for key in keys]
        mean = "n/a" if result.mean is None else f"{result.mean:+.1f} %" + (" *" if result.mean_note() else "")
        table.add_row(f"{result.anchor} → {result.test}", *cells, mean)
    console.print(table)
    if group_columns:
        console.print(f"groups: {' / '.join(group_columns)}", markup=False)
    for result in results:
        for key, cell in result.groups.items():
            if cell.note:
                console.print(f"  {result.anchor} → {result.test}, {' / '.join(key) or 'all'}: {cell.note}", markup=False)
        if result.mean_note():
            console.print(f"  {result.anchor} → {result.test}, mean: {result.mean_note()}", markup=False)
