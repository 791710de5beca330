"""Item 4 (startup): ``import pgpcodec`` ≤ 0.15 s and ``pgpcodec --help`` ≤ 0.3 s.

Each command runs in a fresh process, in turn with the baseline ``python -c
pass`` (the interpreter's own start-up, which no package can go below);
the best of ``--repeats`` runs counts. The targets are on the absolute
times, as a user sees them; the figure above the baseline is printed too.

    python benchmarks/bench_startup.py [--repeats 15] [--json out.json]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import common


def command_runner(argv: list[str]):
    def run() -> None:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return run


def main() -> int:
    report, args = common.start(__doc__, "bench_startup", "start-up time")
    script = Path(sys.executable).with_name("pgpcodec")
    cli = [str(script)] if script.exists() else [shutil.which("pgpcodec") or "pgpcodec"]
    times = common.best_times(
        {
            "python -c pass": command_runner([sys.executable, "-c", "pass"]),
            "import pgpcodec": command_runner([sys.executable, "-c", "import pgpcodec"]),
            "pgpcodec --help": command_runner(cli + ["--help"]),
        },
        max(args.repeats, 10),
    )
    base = times["python -c pass"]
    for name, limit in (("import pgpcodec", 0.15), ("pgpcodec --help", 0.3)):
        report.target(
            name=f"startup.{name.replace(' ', '_').replace('-', '')}",
            description=f"wall time of `{name}` in a fresh process",
            value=times[name], unit="s", baseline=base, baseline_name="python -c pass",
            ratio=times[name] / base, limit=f"<= {limit} s", passed=times[name] <= limit,
            note=f"{1000 * (times[name] - base):.0f} ms above the bare interpreter",
        )
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
