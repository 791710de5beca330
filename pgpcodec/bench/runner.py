"""Runs codecs × qualities × variants over a manifest, never losing finished work.

Output folder (``--out``):

``rows.jsonl``
    one line per (variant, codec, quality, row), appended and flushed as
    soon as the row is scored. A rerun with the same ``--out`` skips the
    lines already there, so an interrupted run resumes, and a run can be
    extended with more codecs, qualities or variants.
``run.json``
    what the rows depend on (dataset, scorer, evaluator, prefilter
    settings); a rerun with different ones is refused instead of mixing them.
``results.json``
    the summary written at the end: package version, git commit, settings,
    curve points, BD-rate table, skipped variants.
``bdrate.md``, ``plots/<codec>.png``
    the table as Markdown and one rate–metric plot per codec.

A row that cannot run (an image that does not decode, a codec that
refuses it) is a failure: it is listed at the end and in ``results.json``,
and the other rows go on. ``executor`` runs the work on this machine's
threads (``local``) or on a Dask cluster (:mod:`pgpcodec.bench.dask_executor`).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import __version__
from ..defaults import BENCH_SCORER, DEFAULT_EVALUATOR, DEFAULT_PROMPT_PROCESSOR
from ..errors import ModelNotFoundError, PgpcodecError, SettingError, UsageError
from ..interfaces import Codec
from ..plugins import PluginRegistry
from ..prefilter import PrefilterSettings
from . import bdrate
from .dataset import Dataset, Row, RowFailure, decode_photo, file_sha256, read_photo
from .evaluators import Evaluator, EvaluatorError, Sample
from .jsonl_store import JsonlStore
from .metrics import DEFAULT_CONTEXT_SIZE, fidelity
from .variants import Skipped, Variant, VariantFactory, build_variants

def default_qualities(codec: Codec) -> list[float]:
    """The settings a codec declares for the bench (:attr:`pgpcodec.interfaces.Codec.bench_qualities`)."""
    return list(codec.bench_qualities)


def parse_qualities(specs: tuple[str, ...] | list[str], codecs: list[str]) -> dict[str, list[float]]:
    """Quality lists: ``CODEC=Q1,Q2,...`` for one codec or ``Q1,Q2,...`` for all (the CLI's ``--qualities``)."""
    chosen: dict[str, list[float]] = {}
    for spec in specs:
        for part in spec.split(";"):
            if not part.strip():
                continue
            name, sep, values = part.rpartition("=") if "=" in part else ("", "", part)
            name = name.strip()
            if sep and name not in codecs:
                raise SettingError("qualities", f"{part!r} names codec {name!r}, which is not among the codecs", f"the codecs are {','.join(codecs)}")
            try:
                numbers = [float(v) for v in values.split(",") if v.strip()]
            except ValueError:
                numbers = []
            if not numbers:
                raise SettingError("qualities", f"{part!r} has no numbers", "write CODEC=Q1,Q2,... or Q1,Q2,...")
            for codec in [name] if sep else codecs:
                chosen[codec] = numbers
    return chosen


@dataclass
class BenchConfig:
    dataset: Dataset
    codecs: list[str]
    variants: list[str]
    scorer: str = BENCH_SCORER
    qualities: dict[str, list[float]] = field(default_factory=dict)
    evaluator: str = DEFAULT_EVALUATOR
    evaluator_options: dict = field(default_factory=dict)
    settings: PrefilterSettings = field(default_factory=PrefilterSettings)
    jobs: int = 2
    context_size: int = DEFAULT_CONTEXT_SIZE
    """Long side (px) of the context PSNR's downscaled images."""
    executor: str = "local"
    """``local``, ``dask`` (a LocalCluster of ``jobs`` worker processes) or ``dask://HOST:PORT``."""
    prompt_processor: str = DEFAULT_PROMPT_PROCESSOR
    """The prefilter variants' prompt processor (``no-prompt-prep`` passes the prompt through)."""
    plugin_timeout: float | None = None
    """Seconds each codec call may take (None: no limit), as ``--plugin-timeout`` for encode."""


@dataclass
class BenchResult:
    out: Path
    variants: list[Variant]
    skipped: list[Skipped]
    codecs: list[str]
    points: dict[tuple[str, str], list[bdrate.Point]]
    table: dict[str, dict[str, bdrate.BdRate]]
    metric: str
    computed: int
    reused: int
    plots: list[Path]
    seconds: float
    context_size: int = DEFAULT_CONTEXT_SIZE
    failures: list[RowFailure] = field(default_factory=list)
    benchmark: dict | None = None
    """The dataset's own scores per curve point (MME, MMBench, SEEDBench), when it has them."""


def git_commit() -> dict | None:
    """The commit of the source tree pgpcodec runs from, when it is a git checkout."""
    folder = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _key(variant: str, codec: str, quality: float, row_id: str) -> tuple:
    return (variant, codec, float(quality), row_id)


def _record_key(record: dict) -> tuple:
    return _key(record["variant"], record["codec"], record["quality"], record["row"])


class ResultLog:
    """``rows.jsonl``: append-only, one flushed line per scored row (a :class:`JsonlStore`)."""

    def __init__(self, path: Path):
        self.path = path
        self._store = JsonlStore(path)
        self.records: dict[tuple, dict] = self._store.load(_record_key)  # a line cut short by a crash is computed again

    def done(self, variant: str, codec: str, quality: float, row_id: str) -> bool:
        return _key(variant, codec, quality, row_id) in self.records

    def append(self, record: dict) -> None:
        key = _record_key(record)
        self._store.append(record)
        self.records[key] = record


def _at_row(exc: PgpcodecError, row: Row, manifest: Path) -> PgpcodecError:
    """The same error (its subclass fields kept), with the row it came from: its id, and the manifest row the message starts with."""
    return exc.locate(f"{manifest}, {row.where()}").add_context(row=row.id)


def row_failure(exc: PgpcodecError, row: Row, manifest: Path, variant: str | None = None, codec: str | None = None,
                quality: float | None = None) -> RowFailure:
    return RowFailure(row.id, row.line, f"{manifest}, {row.where()}: {exc.message}", exc.hint, variant, codec,
                      None if quality is None else float(quality))


def failure_key(failure: RowFailure) -> tuple:
    return (failure.line, failure.row, failure.variant or "", failure.codec or "", failure.quality if failure.quality is not None else -1.0)


def _check_run_file(out: Path, fingerprint: dict) -> None:
    path = out / "run.json"
    if path.exists():
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            existing = None
        if existing != fingerprint:
            raise UsageError(
                f"{out} holds results of a run with other settings (see {path})",
                "choose another output folder; results already there are never overwritten",
                parameter="out",
            )
        return
    from ..imaging import write_atomic

    write_atomic(path, (json.dumps(fingerprint, indent=2) + "\n").encode(), force=True)


class Bench:
    """One benchmark run. ``progress(n)`` is called after every n rows scored."""

    def __init__(self, config: BenchConfig, out: Path, registry: PluginRegistry, *, reply_cache: bool = True):
        self.config = config
        self.out = out
        self.registry = registry
        # Guarded: a codec that raises, hangs past the timeout or returns garbage fails its rows, naming its plugin.
        self.codecs: dict[str, Codec] = {name: registry.codec(name, plugin_timeout=config.plugin_timeout) for name in config.codecs}
        self.qualities = {
            name: [float(codec.validate_quality(q)) for q in config.qualities.get(name) or default_qualities(codec)]
            for name, codec in self.codecs.items()
        }
        options = dict(config.evaluator_options)
        if reply_cache and getattr(registry.registration("evaluator", config.evaluator).factory, "keeps_replies", False):
            options.setdefault("cache", str(out / "replies.jsonl"))
        self.evaluator: Evaluator = registry.create("evaluator", config.evaluator, **options)
        for row in config.dataset.rows:
            try:
                self.evaluator.check(row)
            except PgpcodecError as exc:
                raise _at_row(exc, row, config.dataset.manifest) from None
        factory = VariantFactory(config.scorer, registry, config.settings, prompt_processor=config.prompt_processor,
                                 plugin_timeout=config.plugin_timeout)
        self.variants, self.skipped = build_variants(list(config.variants), factory)
        if config.dataset.rows and not any(row.regions for row in config.dataset.rows):
            for variant in [v for v in self.variants if v.settings.get("needs_regions")]:
                self.variants.remove(variant)
                self.skipped.append(Skipped(variant.name, f"scorer {variant.settings['scorer']!r} needs regions, and dataset "
                                                          f"{config.dataset.name!r} has none (choose another scorer)"))
        self.log: ResultLog | None = None
        self._failed_variants: dict[str, str] = {}
        self.failures: dict[tuple, RowFailure] = {}
        self._failures_lock = threading.Lock()
        self._dead_rows: set[str] = set()  # rows whose image failed: in no curve point
        self.executor_stats: dict = {}

    def fail(self, failure: RowFailure, *, image: bool = False) -> None:
        """Record a row that could not run (once per row, variant, codec and quality)."""
        with self._failures_lock:
            self.failures.setdefault(failure_key(failure), failure)
            if image:
                self._dead_rows.add(failure.row)

    def fingerprint(self) -> dict:
        data = self.config.dataset
        if getattr(self, "_sha256", None) is None:
            self._sha256 = file_sha256(data.manifest)  # once per run: a TSV may be gigabytes
        return {
            "dataset": {"name": data.name, "manifest": str(data.manifest), "sha256": self._sha256},
            "scorer": self.config.scorer,
            "prefilter": dict(self.config.settings.__dict__),
            "evaluator": self.evaluator.settings(),
            "context_size": self.config.context_size,
        }

    def total(self) -> int:
        rows = len(self.config.dataset.rows)
        return rows * len(self.variants) * sum(len(q) for q in self.qualities.values())

    def run(self, progress: Callable[[int], None] = lambda n: None) -> BenchResult:
        start = time.perf_counter()
        self.out.mkdir(parents=True, exist_ok=True)
        _check_run_file(self.out, self.fingerprint())
        self.log = ResultLog(self.out / "rows.jsonl")
        for failure in self.config.dataset.failures:
            self.fail(failure, image=True)
        before = len(self._wanted_records())
        progress(before)
        if self.config.executor != "local":
            from .dask_executor import run_on_dask

            self.executor_stats = run_on_dask(self, progress)
            return self._done(before, start)
        rows_by_photo = self.rows_by_photo()
        encode_pool = ThreadPoolExecutor(max(1, self.config.jobs), thread_name_prefix="bench-encode")
        eval_pool = ThreadPoolExecutor(max(1, self.evaluator.concurrency), thread_name_prefix="bench-eval")
        evaluations: list[Future] = []
        try:
            for photo, rows in rows_by_photo.items():
                self._photo(photo, rows, encode_pool, eval_pool, evaluations, progress)
                for future in [f for f in evaluations if f.done()]:
                    future.result()  # surface the first evaluator error early
            for future in as_completed(evaluations):
                future.result()
        except BaseException as exc:
            encode_pool.shutdown(wait=True, cancel_futures=True)
            # Images already decoded still get scored and saved, unless the evaluator itself
            # is failing or the user interrupted.
            give_up = isinstance(exc, EvaluatorError) or not isinstance(exc, Exception)
            eval_pool.shutdown(wait=True, cancel_futures=give_up)
            raise
        encode_pool.shutdown()
        eval_pool.shutdown()
        return self._done(before, start)

    def _done(self, before: int, start: float) -> BenchResult:
        for name, reason in self._failed_variants.items():
            self.skipped.append(Skipped(name, reason))
        self.variants = [v for v in self.variants if v.name not in self._failed_variants]
        records = self._wanted_records()
        return self._finish(records, computed=len(records) - before, reused=before, seconds=time.perf_counter() - start)

    def todo(self, rows: list[Row]) -> list[tuple[Variant, tuple, list[Row], str, float]]:
        """(variant, unit, rows of the unit still to do, codec, quality) for one photo's rows.

        A unit's rows share one prepared image and one encode per codec and quality.
        """
        assert self.log is not None
        todo = []
        for variant in self.variants:
            if variant.name in self._failed_variants:
                continue
            units: dict[tuple, list[Row]] = {}
            for row in rows:
                units.setdefault(variant.inputs(row), []).append(row)
            for unit, unit_rows in units.items():
                for codec, qualities in self.qualities.items():
                    for quality in qualities:
                        pending = [r for r in unit_rows if not self.log.done(variant.name, codec, quality, r.id)]
                        if pending:
                            todo.append((variant, unit, pending, codec, quality))
        return todo

    def rows_by_photo(self) -> dict:
        by_photo: dict = {}
        for row in self.config.dataset.rows:
            by_photo.setdefault(row.image, []).append(row)
        return by_photo

    def _wanted_records(self) -> list[dict]:
        assert self.log is not None
        order = {row.id: n for n, row in enumerate(self.config.dataset.rows)}
        names = {v.name: n for n, v in enumerate(self.variants)}
        codecs = {c: n for n, c in enumerate(self.qualities)}
        wanted = [
            r
            for r in self.log.records.values()
            if r["variant"] in names and r["row"] in order and r["codec"] in self.qualities and float(r["quality"]) in self.qualities[r["codec"]]
        ]
        # in a fixed order, whatever order the rows finished in, so the means (float sums) are the same on every executor
        return sorted(wanted, key=lambda r: (names[r["variant"]], codecs[r["codec"]], float(r["quality"]), order[r["row"]]))

    def load_photo(self, photo, rows: list[Row]) -> np.ndarray | None:
        """The decoded photo, or None after recording a failure for each of its rows."""
        try:
            return decode_photo(read_photo(photo), photo)
        except PgpcodecError as exc:
            self.photo_failed(exc, rows)
            return None

    def photo_failed(self, exc, rows: list[Row]) -> None:
        for row in rows:
            self.fail(row_failure(exc, row, self.config.dataset.manifest), image=True)

    def _photo(self, photo, rows, encode_pool, eval_pool, evaluations, progress) -> None:
        assert self.log is not None
        todo = self.todo(rows)
        if not todo:
            return
        original = self.load_photo(photo, rows)
        if original is None:
            return
        needed: dict[tuple, tuple[Variant, dict[str, Row]]] = {}
        for v, unit, pending, _, _ in todo:
            needed.setdefault((v.name, unit), (v, {}))[1].update({r.id: r for r in pending})
        prepare_futures = {key: encode_pool.submit(self._prepare, v, original, list(unit_rows.values()))
                           for key, (v, unit_rows) in needed.items()}
        prepared = {key: future.result() for key, future in prepare_futures.items()}
        encode_futures = []
        for variant, unit, pending, codec, quality in todo:
            ready = prepared[(variant.name, unit)]
            if ready is None:
                continue  # the variant's model is missing (recorded as skipped), or its rows failed
            encode_futures.append(
                encode_pool.submit(self._encode, variant, original, ready, pending, codec, quality, eval_pool, evaluations, progress)
            )
        for future in as_completed(encode_futures):
            future.result()

    @staticmethod
    def prepared(variant: Variant, original: np.ndarray, row: Row) -> tuple[np.ndarray, float]:
        """The image to encode for a unit's rows (``row`` is one of them) and the seconds it took."""
        start = time.perf_counter()
        image = variant.prepare(original, row)
        return image, time.perf_counter() - start

    def _prepare(self, variant: Variant, original: np.ndarray, unit_rows: list[Row]) -> tuple[np.ndarray, float] | None:
        """:meth:`prepared`, or None after recording why it cannot be made."""
        try:
            return self.prepared(variant, original, unit_rows[0])
        except ModelNotFoundError as exc:
            self._failed_variants.setdefault(variant.name, f"model not installed: {exc}")
        except PgpcodecError as exc:
            for row in unit_rows:
                self.fail(row_failure(exc, row, self.config.dataset.manifest, variant.name))
        return None

    def coded(self, variant, original, ready, codec_name, quality) -> tuple[np.ndarray, dict]:
        """Encode and decode one prepared image: (decoded image, the record fields its rows share)."""
        image, prepare_seconds = ready
        codec = self.codecs[codec_name]
        height, width = original.shape[:2]
        encoded = codec.encode(image, quality)
        start = time.perf_counter()
        decoded = variant.restore(codec.decode(encoded.data), (width, height))
        decode_seconds = time.perf_counter() - start
        base = {
            "variant": variant.name,
            "codec": codec_name,
            "quality": float(quality),
            "bytes": len(encoded.data),
            "bpp": 8.0 * len(encoded.data) / (width * height),  # per original pixel, also for downsampling
            "seconds": {"prepare": prepare_seconds, "encode": encoded.timings["encode"], "decode": decode_seconds},
        }
        return decoded, base

    def samples(self, variant, original, decoded, base, unit_rows, codec_name, quality):
        """(sample, record without the evaluation) for each row of a unit."""
        for row in unit_rows:
            metrics = fidelity(original, decoded, row.regions, context_size=self.config.context_size)
            yield Sample(row, decoded, metrics, variant.name, codec_name, quality), {**base, "row": row.id, "line": row.line, **metrics}

    def _encode(self, variant, original, ready, unit_rows, codec_name, quality, eval_pool, evaluations, progress) -> None:
        try:
            coded = self.coded(variant, original, ready, codec_name, quality)
        except PgpcodecError as exc:
            for row in unit_rows:
                self.fail(row_failure(exc, row, self.config.dataset.manifest, variant.name, codec_name, quality))
            return
        for sample, record in self.samples(variant, original, *coded, unit_rows, codec_name, quality):
            evaluations.append(eval_pool.submit(self._evaluate, sample, record, progress))

    def evaluated(self, sample: Sample, record: dict) -> dict:
        """The row's full record; an evaluator error stops the run (it is the evaluator's, not the row's)."""
        try:
            evaluation = self.evaluator.evaluate(sample)
        except PgpcodecError as exc:
            raise _at_row(exc, sample.row, self.config.dataset.manifest) from None
        return {**record, **evaluation, "score": float(evaluation["score"])}

    def _evaluate(self, sample: Sample, record: dict, progress) -> None:
        assert self.log is not None
        self.log.append(self.evaluated(sample, record))
        progress(1)

    def _finish(self, records: list[dict], *, computed: int, reused: int, seconds: float) -> BenchResult:
        from ..imaging import write_atomic
        from .plots import plot_codec

        names = [v.name for v in self.variants]
        codecs = list(self.codecs)
        # rows whose image failed are in no point; every point averages all the others
        dead = self._dead_rows & {row.id for row in self.config.dataset.rows}
        points = bdrate.curves(records, expected_rows=len(self.config.dataset.rows) - len(dead))
        metric = self.evaluator.metric
        from .vqa_metrics import point_scores

        benchmark = point_scores(self.config.dataset, records)
        if benchmark is not None:
            # the BD-rate and the plots compare variants at equal benchmark score (MME score, accuracy)
            metric = benchmark["metric"]
            headline = benchmark["points"]
            points = {
                key: [replace(p, score=headline[f"{key[0]}|{key[1]}"][_quality_key(p.quality)]["score"]) for p in curve]
                for key, curve in points.items()
            }
        table = bdrate.bd_table(points, names, codecs)
        failures = sorted(self.failures.values(), key=failure_key)
        plots = []
        plot_dir = self.out / "plots"
        plot_dir.mkdir(exist_ok=True)
        for codec in codecs:
            plots.append(plot_codec(codec, points, names, metric, plot_dir / f"{codec}.png",
                                    title_note=f"{self.config.dataset.name}, {len(self.config.dataset.rows)} prompts",
                                    context_size=self.config.context_size))
        summary = {
            "pgpcodec_version": __version__,
            "git": git_commit(),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seconds": seconds,
            "rows_computed": computed,
            "rows_reused": reused,
            "settings": {
                **self.fingerprint(),
                "codecs": codecs,
                "qualities": self.qualities,
                "variants": [v.to_dict() for v in self.variants],
                "jobs": self.config.jobs,
                "executor": self.config.executor,
            },
            "metric": metric,
            "skipped": [{"variant": s.name, "reason": s.reason} for s in self.skipped],
            "failures": [f.to_dict() for f in failures],
            "benchmark": benchmark,
            "points": {f"{variant}|{codec}": [p.to_dict() for p in curve] for (variant, codec), curve in sorted(points.items())},
            "bd_rate": {variant: {codec: cell.to_dict() for codec, cell in row.items()} for variant, row in table.items()},
            "context_psnr": {
                "long_side": self.config.context_size,
                "mean_db": {v: {c: bdrate.mean_context(points, v, c) for c in codecs} for v in names},
            },
        }
        write_atomic(self.out / "results.json", (json.dumps(summary, indent=2) + "\n").encode(), force=True)
        markdown = markdown_table(table, codecs, self.variants, metric, points, self.config.context_size)
        write_atomic(self.out / "bdrate.md", markdown.encode(), force=True)
        return BenchResult(self.out, self.variants, self.skipped, codecs, points, table, metric, computed, reused, plots, seconds,
                           context_size=self.config.context_size, failures=failures, benchmark=benchmark)


def _quality_key(quality: float) -> str:
    return f"{float(quality):g}"


def context_cell(points: dict[tuple[str, str], list[bdrate.Point]], variant: str, codec: str) -> str:
    value = bdrate.mean_context(points, variant, codec)
    return "–" if value is None else f"{value:.1f} dB"


def markdown_table(
    table: dict[str, dict[str, bdrate.BdRate]],
    codecs: list[str],
    variants: list[Variant],
    metric: str,
    points: dict[tuple[str, str], list[bdrate.Point]] | None = None,
    context_size: int = DEFAULT_CONTEXT_SIZE,
) -> str:
    """The BD-rate table, each codec's column followed by the variant's mean context PSNR."""
    points = points or {}
    descriptions = {v.name: v.description for v in variants}
    lines = [
        f"BD-rate against the plain codec at equal {metric} (negative = fewer bits); "
        f"context = mean PSNR outside the regions at {context_size} px long side.",
        "",
        "| variant | " + " | ".join(f"{c} | {c} context" for c in codecs) + " |",
        "|---|" + "---|---|" * len(codecs),
    ]
    plain = [v.name for v in variants if v.name not in table]
    for variant in plain:
        lines.append(f"| {variant} ({descriptions.get(variant, '')}) | " + " | ".join(f"anchor | {context_cell(points, variant, c)}" for c in codecs) + " |")
    notes = []
    for variant, cells in table.items():
        lines.append(
            f"| {variant} ({descriptions.get(variant, '')}) | "
            + " | ".join(f"{cells[c].cell()} | {context_cell(points, variant, c)}" for c in codecs)
            + " |"
        )
        notes += [f"- {variant}, {codec}: {cell.note}" for codec, cell in cells.items() if cell.note]
    if notes:
        lines += ["", "Notes (\\* = see note; n/a = not computable):", *notes]
    return "\n".join(lines) + "\n"
