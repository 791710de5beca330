"""A bounded run of scripts/fuzz_encode.py: mutated real photos through ``pgpcodec encode``."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fuzz_encode.py"


def load_fuzzer():
    spec = importlib.util.spec_from_file_location("fuzz_encode", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_200_mutated_files_give_no_unhandled_exception():
    summary = load_fuzzer().fuzz(count=200, seed=20261121, max_seconds=240)
    assert summary["files"] == 200, summary
    assert summary["failures"] == [] and summary["stray_lines"] == 0, summary
    assert summary["encoded"] > 0 and summary["clear_errors"] > 0  # both paths were exercised
    assert summary["encoded"] + summary["clear_errors"] == 200


def test_mutations_are_seeded_and_really_mutate():
    fuzzer = load_fuzzer()
    pool = fuzzer.seeds()
    first = [fuzzer.mutate(pool[0], random.Random(5), pool) for _ in range(3)]
    again = [fuzzer.mutate(pool[0], random.Random(5), pool) for _ in range(3)]
    assert first == again
    assert all(m != pool[0] for m in first)
