"""Mutation fuzzing of ``pgpcodec encode``: real photos, corrupted, through the real CLI.

Each round mutates seed images (tests/data/fuzz: real photos in PNG, JPEG,
WebP, GIF, HEIC and AVIF) with seeded bit flips, byte overwrites,
truncations, insertions, deletions, duplicated chunks and spliced headers,
gives them random extensions, and runs ``pgpcodec encode`` on a batch of
them in process (``pgpcodec.cli.main``). A file passes when it gets exactly
one output line, either a result or a clear ``error:``; it fails when the
CLI reports an internal error, prints a traceback, or exits with a code
other than 0/1. Lines that belong to no file (warnings) are counted as
``stray_lines``. Bounded by a file count and a time limit.

    python scripts/fuzz_encode.py --count 2000 --seed 1 --max-seconds 900

Prints a JSON summary; the exit code is 1 if any file failed. The last full
run is recorded in docs/reliability.md. CI runs a 200-file version
(tests/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

SEED_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "fuzz"
EXTENSIONS = (".png", ".jpg", ".webp", ".gif", ".heic", ".avif", ".tif", ".bin", "")
INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
BATCH = 50
MAX_PIXELS = 4_000_000
"""Mutated headers can claim any size; this keeps each decode small (the limit itself is tested elsewhere)."""


def seeds() -> list[bytes]:
    files = sorted(p for p in SEED_DIR.iterdir() if p.suffix != ".md")
    if not files:
        raise SystemExit(f"no seed images in {SEED_DIR}")
    return [p.read_bytes() for p in files]


def mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    """One to four random mutations of ``data``."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(("flip", "byte", "truncate", "insert", "delete", "duplicate", "splice", "zero"))
        n = len(out)
        if n == 0:
            out = bytearray(rng.randbytes(rng.randint(1, 64)))
            continue
        at = rng.randrange(n)
        if kind == "flip":
            for _ in range(rng.randint(1, 16)):
                i = rng.randrange(n)
                out[i] ^= 1 << rng.randrange(8)
        elif kind == "byte":
            for _ in range(rng.randint(1, 8)):
                out[rng.randrange(n)] = rng.choice(INTERESTING_BYTES)
        elif kind == "truncate":
            del out[at:]
        elif kind == "insert":
            out[at:at] = rng.randbytes(rng.randint(1, 256))
        elif kind == "delete":
            del out[at : at + rng.randint(1, 256)]
        elif kind == "duplicate":
            out[at:at] = out[at : at + rng.randint(1, 512)]
        elif kind == "splice":
            other = rng.choice(pool)
            cut = rng.randint(1, min(len(other), 64))
            out[:cut] = other[:cut]
        else:  # zero a range
            length = rng.randint(1, 128)
            out[at : at + length] = bytes(len(out[at : at + length]))
    return bytes(out)


def run_cli(args: list[str]) -> tuple[int, str]:
    """``pgpcodec ARGS`` in process; returns (exit code, stdout + stderr)."""
    from pgpcodec.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, buffer.getvalue()


def fuzz(count: int, seed: int, max_seconds: float, scorer: str = "uniform", codec: str = "jpeg") -> dict:
    rng = random.Random(seed)
    pool = seeds()
    started = time.perf_counter()
    summary = {"seed": seed, "files": 0, "encoded": 0, "clear_errors": 0, "failures": [], "codec": codec, "scorer": scorer,
               "stray_lines": 0, "stray_sample": []}
    with tempfile.TemporaryDirectory(prefix="pgpcodec-fuzz-") as folder:
        root = Path(folder)
        batch_no = 0
        while summary["files"] < count and time.perf_counter() - started < max_seconds:
            batch_dir = root / f"batch{batch_no}"
            batch_dir.mkdir()
            size = min(BATCH, count - summary["files"])
            files = []
            for i in range(size):
                path = batch_dir / f"f{summary['files'] + i:05d}{rng.choice(EXTENSIONS)}"
                path.write_bytes(mutate(rng.choice(pool), rng, pool))
                files.append(path)
            args = ["encode", *map(str, files), "--prompt", "what is in the picture?", "--scorer", scorer,
                    "--prompt-processor", "none", "--codec", codec, "--max-pixels", str(MAX_PIXELS),
                    "-o", str(root / f"out{batch_no}") + "/"]
            code, output = run_cli(args)
            lines = [line for line in output.splitlines() if line.strip()]
            owned = set()
            for path in files:
                mine = [line for line in lines if line.startswith(f"{path} ") or line.startswith(f"error: {path}:")]
                owned.update(mine)
                bad = [line for line in mine if "internal error" in line]
                if len(mine) != 1 or bad:
                    summary["failures"].append({"file": path.name, "lines": mine[:3], "data": path.read_bytes()[:64].hex()})
                elif mine[0].startswith("error:"):
                    summary["clear_errors"] += 1
                else:
                    summary["encoded"] += 1
            stray = [line for line in lines if line not in owned and not re.fullmatch(r"done \d+, failed \d+", line)]
            summary["stray_lines"] += len(stray)
            summary["stray_sample"] = (summary["stray_sample"] + stray)[:5]
            if code not in (0, 1) or "Traceback" in output:
                summary["failures"].append({"batch": batch_no, "exit_code": code, "output": output[-2000:]})
            summary["files"] += size
            batch_no += 1
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["unhandled"] = len(summary["failures"])
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="mutated files to run (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=1800, help="stop after this long (default 1800)")
    parser.add_argument("--codec", default="jpeg")
    parser.add_argument("--scorer", default="uniform")
    options = parser.parse_args(argv)
    summary = fuzz(options.count, options.seed, options.max_seconds, options.scorer, options.codec)
    print(json.dumps(summary, indent=2))
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
