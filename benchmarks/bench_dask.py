"""Issue 12 (Dask executor): on the dev set with the roi evaluator, ``--executor dask`` with 2 local workers
takes ≤ 1.25× the local executor's wall time, and the scheduler overhead is ≤ 20 ms per row.

The same bench (dev set, 27 questions, ``--variants plain,prefilter``,
``--codecs`` jpeg by default at its four default qualities, the ``roi``
evaluator) runs in turn:

- ``local``: the local executor, ``--jobs 2`` (the baseline);
- ``dask``: ``--executor dask``, a LocalCluster of 2 worker processes
  started and stopped by the run itself, as a user gets it;
- ``dask (running cluster)``: ``--executor dask://…`` on a LocalCluster of 2
  workers started before the clock (a cluster that is already up).

Each in a fresh output folder; the best of ``--repeats`` runs counts.
Scheduler overhead per row = (wall time on the running cluster − the work's
own seconds on the workers / 2) / rows: the time per row that the two
workers were not doing bench work (scheduling, moving data, waiting).

    python benchmarks/bench_dask.py [--repeats 2] [--codecs jpeg] [--json out.json]
"""

from __future__ import annotations

import math
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
        runs = {"local": replace(config, executor="local"), "dask": replace(config, executor="dask"),
                "running": replace(config, executor=address)}
        Bench(runs["running"], Path(tmp) / "warm-up", registry).run()  # workers import pgpcodec once
        for repeat in range(args.repeats):
            for name, run_config in runs.items():
                bench = Bench(run_config, Path(tmp) / f"{name}-{repeat}", registry)
                start = time.perf_counter()
                result = bench.run()
                wall = time.perf_counter() - start
                rows = result.computed
                best[name] = min(best[name], wall)
                report.figure(run=name, repeat=repeat, seconds=wall, rows=rows)
                if name == "running":
                    overhead = min(overhead, (wall - bench.executor_stats["busy"] / workers) / rows)
    ratio = best["dask"] / best["local"]
    report.target(
        name="bench.dask_vs_local", description="wall time of --executor dask (2 local workers, cluster start included) over the local executor's",
        value=best["dask"], unit="s", baseline=best["local"], baseline_name="--executor local --jobs 2", ratio=ratio,
        limit="<= 1.25x", passed=ratio <= 1.25,
        note=f"{rows} rows; on a running cluster {best['running']:.2f} s ({best['running'] / best['local']:.2f}x)",
    )
    report.target(
        name="bench.dask_overhead_per_row", description="scheduler overhead per row on a running 2-worker cluster",
        value=1000 * overhead, unit="ms", limit="<= 20 ms", passed=overhead <= 0.020,
        note="(wall - worker busy seconds / 2) / rows",
    )
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
