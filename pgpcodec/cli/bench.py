"""``pgpcodec bench``: codecs × qualities × variants over a manifest, BD-rate table and plots."""

from __future__ import annotations

from pathlib import Path

import click

from ..bench.metrics import DEFAULT_CONTEXT_SIZE
from ..defaults import BENCH_CODECS, BENCH_SCORER, DEFAULT_EVALUATOR
from ..errors import PgpcodecError, UsageError
from .options import filter_setting_options


def filter_settings(command):
    for option in reversed(filter_setting_options()):
        command = option(command)
    return command


EVALUATOR_FLAGS = {"reply_cache": "cache"}
"""Evaluator flags whose factory option has another name."""


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _codecs(text: str | None, registry) -> tuple[list[str], list[str]]:
    """The codecs to run and notes about default ones that are not installed."""
    installed = set(registry.names("codec"))
    if text is None:
        chosen = [c for c in BENCH_CODECS if c in installed]
        notes = [f"codec {c!r} is not installed; left out of the default codecs" for c in BENCH_CODECS if c not in installed]
        return chosen, notes
    chosen = list(dict.fromkeys(_split(text)))
    if not chosen:
        raise UsageError("--codecs is empty", f"installed codecs: {', '.join(sorted(installed))}")
    for name in chosen:
        registry.registration("codec", name)  # unknown names fail here, listing the valid ones
    return chosen, []


def _evaluator_options(evaluator: str, given: dict, registry) -> dict:
    """The evaluator flags given, as the evaluator factory's options.

    A flag applies to the evaluators whose factory names its option (a
    factory taking only ``**options`` names none); any other is refused,
    naming the evaluators it applies to.
    """
    import inspect

    options = {EVALUATOR_FLAGS.get(k, k): v for k, v in given.items()}

    def takes(name: str) -> bool:
        try:
            parameters = inspect.signature(registry.registration("evaluator", name).factory).parameters
        except (PgpcodecError, TypeError, ValueError):  # unknown, not loadable, or no signature
            return False
        return all(key in parameters for key in options)

    if options and not takes(evaluator):
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        takers = [name for name in registry.names("evaluator") if takes(name)]
        raise UsageError(f"{flags} only apply to " + (" or ".join(f"--evaluator {name}" for name in takers) or "other evaluators"))
    return options


@click.command()
@click.option("--dataset", default="dev", show_default=True, help="'dev' (the built-in set), a JSONL manifest or a VLMEvalKit .tsv.")
@click.option("--codecs", default=None, help=f"Comma-separated codec names [default: {','.join(BENCH_CODECS)}, those installed].")
@click.option("--qualities", multiple=True, metavar="[CODEC=]Q1,Q2,...", help="Quality settings, per codec or for all; repeatable (default: 4 per codec).")
@click.option("--scorer", default=BENCH_SCORER, show_default=True, help="Scorer of the 'prefilter' variants.")
@click.option("--variants", default="plain,prefilter,prefilter@reference", show_default=True, help="Comma-separated variants (docs/bench.md).")
@click.option("--evaluator", default=DEFAULT_EVALUATOR, show_default=True, help="roi (region fidelity) or openai (a VLM server), or a plugin's.")
@click.option("--endpoint", default=None, help="openai: base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1.")
@click.option("--model", default=None, help="openai: the model name the server knows.")
@click.option("--api-key-env", default=None, help="openai: environment variable holding the API key [default: OPENAI_API_KEY].")
@click.option("--concurrency", type=int, default=None, help="openai: requests in flight at once [default: 4].")
@click.option("--reply-cache", type=click.Path(dir_okay=False), default=None, help="openai: JSONL cache of replies [default: OUT/replies.jsonl].")
@filter_settings
@click.option("--context-size", type=click.IntRange(min=1), default=DEFAULT_CONTEXT_SIZE, show_default=True, help="Long side (px) both images are area-downscaled to for the context PSNR, about what a VLM sees.")
@click.option("--jobs", type=int, default=2, show_default=True, help="Encodes running at once (with --executor dask: worker processes).")
@click.option("--executor", default="local", show_default=True, metavar="local|dask|dask://HOST:PORT",
              help="Where the work runs: this machine's threads, a local Dask cluster, or a Dask scheduler (extra 'distributed').")
@click.option("--plugin-timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Fail a plugin call (codec, scorer, …) that takes longer (its rows fail, the run goes on) [default: no limit].")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None, help="Output folder [default: bench-results/DATASET]; rerunning resumes.")
def bench(dataset, codecs, qualities, scorer, variants, evaluator, sigma_max, sigma_one, logit_scale, context_size, jobs, executor, out,
          plugin_timeout=None, **openai):
    """Sweep codecs × qualities × variants, print the BD-rate table and write plots.

    Results go to OUT/rows.jsonl as they are computed (a rerun skips them),
    OUT/results.json, OUT/bdrate.md and OUT/plots/CODEC.png.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from ..bench.bdrate import PACKAGES
    from ..bench.dataset import load_dataset
    from ..bench.runner import Bench, BenchConfig, parse_qualities
    from ..extras import require
    from ..plugins import get_registry
    from ..prefilter import PrefilterSettings

    # Before any row is measured: the summary's BD-rates and plots come at the end.
    require(PACKAGES, "bench", "pgpcodec bench")
    registry = get_registry()
    given = _evaluator_options(evaluator, {k: v for k, v in openai.items() if v is not None}, registry)
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    from ..bench.dask_executor import check_executor

    check_executor(executor)
    codec_names, notes = _codecs(codecs, registry)
    if not codec_names:
        raise UsageError("none of the default codecs is installed", "pass --codecs (see 'pgpcodec plugins')")
    data = load_dataset(dataset)
    config = BenchConfig(
        dataset=data,
        codecs=codec_names,
        variants=_split(variants),
        scorer=scorer,
        qualities=parse_qualities(qualities, codec_names),
        evaluator=evaluator,
        evaluator_options=given,
        settings=PrefilterSettings(sigma_max=sigma_max, sigma_one=sigma_one, logit_scale=logit_scale),
        context_size=context_size,
        jobs=jobs,
        executor=executor,
        plugin_timeout=plugin_timeout,
    )
    out_dir = Path(out) if out else Path("bench-results") / data.name
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    run = Bench(config, out_dir, registry)
    for note in notes + [f"variant {s.name!r} skipped: {s.reason}" for s in run.skipped]:
        err.print(f"[yellow]note[/yellow]: {note}")
    err.print(
        f"{data.name}: {len(data.rows)} prompts on {len(data.images())} photos; codecs {', '.join(run.qualities)}; "
        f"variants {', '.join(v.name for v in run.variants)}; evaluator {evaluator}; executor {executor}; output {out_dir}",
        markup=False,
    )
    columns = (TextColumn("bench"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"), _row_rate_column(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("bench", total=run.total())
        reused = []

        def advance(n: int) -> None:
            if not reused:  # the first call counts the rows already done: they are no part of the rate or ETA
                reused.append(n)
                progress.reset(task, total=run.total(), completed=n)
            else:
                progress.advance(task, n)

        result = run.run(advance)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)  # a file or pipe gets one line per table row
    print_result(result, console)
    if result.failures:
        print_failures(result.failures, err)
        return 1
    return 0


def _row_rate_column():
    """A progress column of rows per second (rich's own speed column counts bytes)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RowRateColumn(ProgressColumn):
        def render(self, task):
            speed = task.finished_speed or task.speed
            return Text("?/s" if speed is None else f"{speed:.2f}/s")

    return RowRateColumn()


def print_failures(failures, console) -> None:
    """The rows that could not run, one line each, after the results."""
    console.print(f"[red]{len(failures)} row(s) failed[/red] (listed in results.json; rerun to retry them):")
    for failure in failures:
        console.print(f"  {failure.text()}", markup=False)


def print_result(result, console) -> None:
    from rich.table import Table

    from ..bench.runner import context_cell

    table = Table(
        title=f"BD-rate vs plain codec at equal {result.metric} (negative = fewer bits); "
        f"context = PSNR outside the regions at {result.context_size} px"
    )
    table.add_column("variant")
    for codec in result.codecs:
        table.add_column(codec, justify="right")
        table.add_column("context", justify="right", style="dim")
    descriptions = {v.name: v.description for v in result.variants}
    for variant in [v.name for v in result.variants if v.name not in result.table]:
        table.add_row(f"{variant}\n[dim]{descriptions[variant]}[/dim]",
                      *(cell for c in result.codecs for cell in ("anchor", context_cell(result.points, variant, c))))
    for variant, cells in result.table.items():
        table.add_row(f"{variant}\n[dim]{descriptions[variant]}[/dim]",
                      *(cell for c in result.codecs for cell in (cells[c].cell(), context_cell(result.points, variant, c))))
    console.print(table)
    for variant, cells in result.table.items():
        for codec, cell in cells.items():
            if cell.note:
                console.print(f"  {variant}, {codec}: {cell.note}", markup=False)
    for skipped in result.skipped:
        console.print(f"  skipped {skipped.name}: {skipped.reason}", markup=False)
    console.print(
        f"{result.computed} rows computed, {result.reused} reused, {result.seconds:.1f} s; "
        f"results in {result.out}/results.json, plots in {result.out}/plots/",
        markup=False,
    )
