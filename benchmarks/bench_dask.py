"""Issue 12 (Dask executor): on the dev set with the roi evaluator, ``--executor dask`` with 2 local workers
takes ≤ 1.25× the local executor's wall time, and the scheduler overhead is ≤ 20 ms per row.

The same bench (dev set, 27 questions, ``--variants plain,prefilter``,
``--codecs`` jpeg by default at its four default qualities, the ``roi``
evaluator) runs in turn:

- ``local``: ``pgpcodec bench --jobs 2`` (the local executor), the baseline;
- ``dask``: ``pgpcodec bench --executor dask``, a LocalCluster of 2 worker
  processes started and stopped by the command itself;
- ``running``: the same bench in this process with ``--executor dask://…``
  on a LocalCluster of 2 workers started before the clock.

``local`` and ``dask`` are whole commands in fresh processes, timed as a
user sees them (start-up and imports included on both sides). Each run
writes a fresh output folder; the best of ``--repeats`` runs counts.
Scheduler overhead per row = (wall time on the running cluster − the work's
own seconds on the workers / 2) / rows: the time per row that the two
workers were not doing bench work (scheduling, moving data, waiting).

    python benchmarks/bench_dask.py [--repeats 2] [--codecs jpeg] [--json out.json]
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import common


def main() -> int:
    report, args = common.start(
        __doc__, "bench_dask", "bench executors: local vs Dask (2 workers)",
        lambda p: p.add_argument("--codecs", default="jpeg", help="codecs of the bench run [jpeg]"),
    )
    from pgpcodec.bench.dask_executor import local_cluster
    from pgpcodec.bench.dataset import load_dataset
    from pgpcodec.bench.runner import Bench, BenchConfig
    from pgpcodec.plugins import get_registry

    registry = get_registry()
    config = BenchConfig(load_dataset("dev"), args.codecs.split(","), ["plain", "prefilter"], jobs=2)
    workers = 2
    best = {"local": math.inf, "dask": math.inf, "running": math.inf}
    overhead = math.inf
    rows = 0
    with tempfile.TemporaryDirectory() as tmp, local_cluster(workers) as cluster:
        address = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
        running = replace(config, executor=address)
        Bench(running, Path(tmp) / "warm-up", registry).run()  # the workers import pgpcodec once
        script = Path(sys.executable).with_name("pgpcodec")
        cli = [str(script) if script.exists() else shutil.which("pgpcodec") or "pgpcodec", "bench", "--dataset", "dev",
               "--codecs", args.codecs, "--variants", "plain,prefilter", "--jobs", str(workers)]
        for repeat in range(args.repeats):
            for name in ("local", "dask", "running"):
                out = Path(tmp) / f"{name}-{repeat}"
                start = time.perf_counter()
                if name == "running":
                    bench = Bench(running, out, registry)
                    rows = bench.run().computed
                else:
                    subprocess.run(cli + ["--executor", name, "--out", str(out)], check=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                wall = time.perf_counter() - start
                best[name] = min(best[name], wall)
                report.figure(run=name, repeat=repeat, seconds=wall)
                if name == "running":
                    overhead = min(overhead, (wall - bench.executor_stats["busy"] / workers) / rows)
    ratio = best["dask"] / best["local"]
    report.target(
        name="bench.dask_vs_local", description="wall time of `pgpcodec bench --executor dask` (2 local workers) over the local executor's",
        value=best["dask"], unit="s", baseline=best["local"], baseline_name="--executor local --jobs 2", ratio=ratio,
        limit="<= 1.25x", passed=ratio <= 1.25,
        note=f"{rows} rows; in process on a running cluster {best['running']:.2f} s",
    )
    report.target(
        name="bench.dask_overhead_per_row", description="scheduler overhead per row on a running 2-worker cluster",
        value=1000 * overhead, unit="ms", limit="<= 20 ms", passed=overhead <= 0.020,
        note="(wall - worker busy seconds / 2) / rows",
    )
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
