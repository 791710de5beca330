"""``--executor dask``: a bench run spread over a Dask cluster (the ``distributed`` extra).

``dask`` starts a ``LocalCluster`` of ``--jobs`` worker processes on this
machine; ``dask://HOST:PORT`` joins a running scheduler (``dask scheduler`` /
``dask worker``, dask-jobqueue on SLURM, dask-kubernetes). Every worker
needs the same pgpcodec (and plugins) installed; the dataset need not be
on the workers' disks.

The graph, per photo: a *decode* task (the image file's bytes travel inside
it, once), a *prepare* task per variant unit (the prefiltered image stays on
the worker that made it) and an *encode* task per codec and quality, which
encodes, decodes, measures and evaluates the unit's rows and returns their
records. Dask moves a photo's decoded array to another worker at most once,
and recomputes the tasks of a worker that dies. Only this process writes
``rows.jsonl``, as each encode task's records arrive, skipping any row
already there, so a row is never written twice and a finished row is never
lost. Photos are submitted a few at a time, so a large TSV is never held in
memory, here or on the cluster.

An evaluator whose ``shared_limit`` is set (the ``openai`` one) takes a
``distributed.Semaphore`` lease around each call: ``--concurrency`` holds
across the whole cluster.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, replace

import numpy as np

from ..errors import ModelNotFoundError, PgpcodecError, SettingError, UsageError

PREFIX = "dask://"
PHOTOS_PER_WORKER = 2
"""Photos in flight per worker: enough to keep every worker busy, few enough to bound memory."""


def check_executor(spec: str) -> None:
    """``local``, ``dask`` or ``dask://HOST:PORT``; a Dask executor needs the ``distributed`` extra."""
    if spec == "local":
        return
    if spec != "dask" and not (spec.startswith(PREFIX) and len(spec) > len(PREFIX)):
        raise UsageError(f"unknown executor {spec!r}", "use local, dask (a local cluster) or dask://HOST:PORT (a running scheduler)")
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise SettingError("executor", f"{spec} needs Dask distributed", "pip install 'pgpcodec[distributed]'") from None


@dataclass(frozen=True)
class Failed:
    """A row-level failure on a worker: the error itself, with its fields (errors pickle with them all)."""

    stage: str  # "image", "prepare" or "encode"
    error: PgpcodecError


@dataclass(frozen=True)
class Missing:
    """The variant's model is not installed on the worker."""

    reason: str


_CONTEXTS: dict[str, object] = {}
_CONTEXT_LOCK = threading.Lock()


def _context(run: str, config):
    """The worker's Bench for this run, built once per worker process (codecs, variants, evaluator)."""
    with _CONTEXT_LOCK:
        if run not in _CONTEXTS:
            from ..plugins import get_registry
            from .runner import Bench

            _CONTEXTS.clear()  # one run at a time per worker: drop older runs' models
            bench = Bench(config, None, get_registry(), reply_cache=False)
            bench.by_name = {v.name: v for v in bench.variants}
            _CONTEXTS[run] = bench
        return _CONTEXTS[run]


def _hold(config):
    return config


def decode_task(data: bytes, image) -> np.ndarray | Failed:
    from .dataset import decode_photo

    try:
        return decode_photo(data, image)
    except PgpcodecError as exc:
        return Failed("image", exc)


def prepare_task(config, run: str, variant: str, original, row):
    if isinstance(original, Failed):
        return original
    bench = _context(run, config)
    try:
        return bench.prepared(bench.by_name[variant], original, row)
    except ModelNotFoundError as exc:
        return Missing(f"model not installed: {exc}")
    except PgpcodecError as exc:
        return Failed("prepare", exc)


def encode_task(config, run: str, variant: str, original, ready, rows, codec: str, quality: float, semaphore):
    """The unit's records for one codec and quality, or why there are none. Evaluator errors are raised."""
    if isinstance(ready, (Failed, Missing)):
        return ready
    start = time.perf_counter()
    bench = _context(run, config)
    chosen = bench.by_name[variant]
    try:
        decoded, base = bench.coded(chosen, original, ready, codec, quality)
    except PgpcodecError as exc:
        return Failed("encode", exc)
    records = []
    for sample, record in bench.samples(chosen, original, decoded, base, rows, codec, quality):
        if semaphore is None:
            records.append(bench.evaluated(sample, record))
        else:
            with semaphore:
                records.append(bench.evaluated(sample, record))
    return {"records": records, "busy": time.perf_counter() - start}


WORKER_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
"""Dask sets MALLOC_TRIM_THRESHOLD_ in its workers by default; that turns off glibc's dynamic mmap
threshold, so every image-sized array is mmapped afresh: the prefilter ran 2-3x slower here."""


def local_cluster(workers: int, **options):
    """A LocalCluster of ``workers`` single-threaded processes, without Dask's malloc setting (:data:`WORKER_ENVIRON`).

    Where the platform has it, workers are forked from a forkserver that
    imported Dask once, instead of each starting a fresh interpreter: this
    cut the cluster's start from 4.6-4.9 s to 3.5-3.8 s here and its stop
    from 1.4 s to 0.1 s.
    """
    import multiprocessing

    import dask
    from distributed import LocalCluster

    settings = dict(WORKER_ENVIRON)
    if "forkserver" in multiprocessing.get_all_start_methods():
        settings["distributed.worker.multiprocessing-method"] = "forkserver"
    with dask.config.set(settings):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", **options)


def connect(spec: str, workers: int):
    """(client, cluster or None) for ``dask`` or ``dask://HOST:PORT``."""
    from distributed import Client

    if spec == "dask":
        cluster = local_cluster(workers)
        try:
            return Client(cluster), cluster
        except BaseException:
            cluster.close()
            raise
    address = "tcp://" + spec[len(PREFIX):]
    try:
        return Client(address, timeout="20s"), None
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address} ({exc})", "start one with 'dask scheduler' and 'dask worker ADDRESS'") from None


def run_on_dask(bench, progress, *, client=None) -> dict:
    """Run ``bench``'s remaining rows on Dask; returns timing figures (``busy`` = seconds of work on the workers)."""
    own = client is None
    cluster = None
    if own:
        client, cluster = connect(bench.config.executor, bench.config.jobs)
    try:
        return _run(client, bench, progress)
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()


def _run(client, bench, progress) -> dict:
    from distributed import Semaphore, as_completed

    from .dataset import Dataset, read_photo
    from .runner import row_failure

    data = bench.config.dataset
    run = uuid.uuid4().hex
    # the workers' copy of the settings: no rows (they travel with their tasks)
    config = client.submit(_hold, replace(bench.config, dataset=Dataset(data.name, data.manifest, ())), key=f"pgpcodec-config-{run}")
    semaphore = None
    if bench.evaluator.shared_limit:
        semaphore = Semaphore(max_leases=bench.evaluator.concurrency, name=f"pgpcodec-evaluator-{run}")
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    window = PHOTOS_PER_WORKER * workers
    pending = as_completed()
    tasks: dict = {}
    left: dict = {}
    busy = 0.0
    prepares_seen: set = set()

    def submit(photo, rows) -> bool:
        todo = bench.todo(rows)
        if not todo:
            return False
        try:
            raw = read_photo(photo)
        except PgpcodecError as exc:
            bench.photo_failed(exc, rows)
            return False
        original = client.submit(decode_task, raw, photo, pure=False)
        prepared: dict = {}
        for variant, unit, unit_rows, codec, quality in todo:
            key = (variant.name, unit)
            if key not in prepared:
                prepared[key] = client.submit(prepare_task, config, run, variant.name, original, unit_rows[0], pure=False)
            future = client.submit(encode_task, config, run, variant.name, original, prepared[key], unit_rows, codec, quality,
                                   semaphore, pure=False)
            tasks[future] = (photo, rows, variant.name, unit_rows, codec, quality, prepared[key].key)
            pending.add(future)
        left[photo] = len(todo)
        return True

    def collect(future) -> None:
        nonlocal busy
        photo, rows, variant, unit_rows, codec, quality, prepare_key = tasks.pop(future)
        result = future.result()  # an evaluator error (or a bug) is raised here and stops the run
        left[photo] -= 1
        if isinstance(result, Missing):
            bench._failed_variants.setdefault(variant, result.reason)
        elif isinstance(result, Failed):
            if result.stage == "image":
                bench.photo_failed(result.error, rows)
            else:
                at = (variant,) if result.stage == "prepare" else (variant, codec, quality)
                for row in unit_rows:
                    bench.fail(row_failure(result.error, row, data.manifest, *at))
        else:
            busy += result["busy"]
            if prepare_key not in prepares_seen:  # a unit's prepare time, once
                prepares_seen.add(prepare_key)
                busy += result["records"][0]["seconds"]["prepare"] if result["records"] else 0.0
            written = 0
            for record in result["records"]:
                if not bench.log.done(record["variant"], record["codec"], record["quality"], record["row"]):
                    bench.log.append(record)
                    written += 1
            progress(written)

    try:
        for photo, rows in bench.rows_by_photo().items():
            while sum(1 for n in left.values() if n) >= window:
                collect(next(pending))
            submit(photo, rows)
        for future in pending:
            collect(future)
    except BaseException:
        client.cancel(list(tasks))
        raise
    return {"busy": busy, "workers": workers}
