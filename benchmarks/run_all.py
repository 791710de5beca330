"""Run every performance benchmark and print each target: measured value, baseline, ratio, pass/fail.

Each script runs in its own process (so peak-memory figures are its own)
and writes its results as JSON; this script gathers them into one table
and into ``bench-results/perf.json``. It exits 1 if any target was missed:
misses are printed with everything else, never hidden.

    python benchmarks/run_all.py                 # everything
    python benchmarks/run_all.py --only filter   # scripts whose name contains "filter"
    python benchmarks/run_all.py --quick         # fewer repeats, no 48 MP
    python benchmarks/run_all.py --model DIR     # an existing model for the scorer benchmarks
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

SCRIPTS = [
    # (script, extra arguments for --quick, takes --model)
    ("bench_startup.py", ["--repeats", "10"], False),
    ("bench_prompt_start.py", ["--repeats", "2"], False),
    ("bench_filter.py", ["--repeats", "2", "--sizes", "1,12"], False),
    ("bench_tiling.py", ["--repeats", "2"], True),
    ("bench_scorer.py", ["--repeats", "2"], True),
    ("bench_end_to_end.py", ["--repeats", "3"], True),
    ("bench_quality.py", ["--quick"], False),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only the scripts whose name contains this")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and sizes, for a first look")
    parser.add_argument("--out", default="bench-results/perf.json", help="where to write all results")
    parser.add_argument("--model", help="tinyclip model directory for the scorer benchmarks (default: a random-init tinyclip57 export)")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for script, quick, takes_model in SCRIPTS:
            if args.only and args.only not in script:
                continue
            if not (common.HERE / script).exists():
                print(f"== {script}: not present", flush=True)
                continue
            json_path = Path(tmp) / (script + ".json")
            command = [sys.executable, str(common.HERE / script), "--json", str(json_path)] + (quick if args.quick else [])
            if takes_model and args.model:
                command += ["--model", args.model]
            print(f"\n$ {' '.join(command[1:2] + command[4:])}", flush=True)
            start = time.perf_counter()
            code = subprocess.run(command).returncode
            if json_path.exists():
                result = json.loads(json_path.read_text())
                result["seconds"] = time.perf_counter() - start
                results.append(result)
            else:
                results.append({"script": script, "targets": [], "error": f"exited {code} without results"})
    print_summary(results)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": common.machine_info(), "results": results}, indent=2))
    print(f"\nall results: {out}")
    missed = [t for r in results for t in r["targets"] if t["passed"] is False]
    broken = [r for r in results if "error" in r]
    return 1 if missed or broken else 0


def print_summary(results: list[dict]) -> None:
    info = common.machine_info()
    print(f"\n== summary ({info['cpu']}, {info['cpus']} CPUs, load average {info['load_average'][0]:.2f})")
    print(f"{'result':6}  {'target':52}  {'value':>12}  {'baseline':>24}  {'ratio':>7}  limit")
    for result in results:
        if "error" in result:
            print(f"{'ERROR':6}  {result['script']}: {result['error']}")
        for t in result["targets"]:
            value = "—" if t["value"] is None else f"{t['value']:.4g} {t['unit']}"
            baseline = f"{t['baseline']:.4g} ({t['baseline_name']})" if t["baseline"] is not None else ""
            ratio = f"{t['ratio']:.3g}" if t["ratio"] is not None else ""
            print(f"{common.verdict(t['passed']):6}  {t['name']:52}  {value:>12}  {baseline:>24}  {ratio:>7}  {t['limit']}")
            if t["note"] and t["passed"] is not True:
                print(f"{'':8}{t['note']}")
    counts = {v: sum(1 for r in results for t in r["targets"] if t["passed"] is v) for v in (True, False, None)}
    print(f"passed {counts[True]}, missed {counts[False]}, not measured {counts[None]}")


if __name__ == "__main__":
    sys.exit(main())
