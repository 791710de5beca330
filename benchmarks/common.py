"""Shared pieces of the benchmark scripts: timing, test photos, σ fields, targets and the report.

Every figure a script prints is measured in the same run as its baseline,
runs alternate between candidate and baseline so that a change in machine
load hits both, and the best of several runs is kept (the least disturbed).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PHOTO = HERE.parent / "pgpcodec" / "data" / "dev" / "images" / "astronaut.png"
"""A public-domain photo of the dev set (pgpcodec/data/dev/LICENSES.md), resized to each test size."""
PHOTO_REGION = (178, 78, 276, 190)
"""The face in ``astronaut.png`` (x0, y0, x1, y1), from the dev set's first question."""
SIZES_MP = (1, 4, 12, 48)
SIGMA_MAX = 10.0
LOGIT_SCALE = 50.0
SIGMA_ONE = 0.5
"""The filter benchmarks use the stronger setting (σ_max 10, α 50, σ_1 0.5), not the paper's defaults
(3, 20, 0.2): the widest kernels and the widest σ spread, the filter's worst case."""


@dataclass
class Target:
    """One measured target of the performance issue, with its baseline and verdict."""

    name: str
    description: str
    value: float | None
    unit: str
    limit: str
    passed: bool | None
    """None when it could not be measured (say why in ``note``)."""
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    note: str = ""


@dataclass
class Report:
    """What one benchmark script measured: targets plus informational figures."""

    script: str
    targets: list[Target] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    machine: dict = field(default_factory=dict)

    def target(self, **kwargs) -> Target:
        item = Target(**kwargs)
        self.targets.append(item)
        print_target(item)
        return item

    def figure(self, **values) -> None:
        """An informational row (scaling tables and the like); printed as it comes."""
        self.figures.append(values)
        print("  " + "  ".join(f"{k}={_fmt(v)}" for k, v in values.items()), flush=True)

    def finish(self, json_path: str | None) -> int:
        self.machine = machine_info()
        if json_path:
            Path(json_path).write_text(json.dumps(asdict(self), indent=2))
        return 1 if any(t.passed is False for t in self.targets) else 0


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def verdict(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "N/A"}[passed]


def print_target(t: Target) -> None:
    value = "—" if t.value is None else f"{t.value:.4g} {t.unit}"
    baseline = f"  baseline {t.baseline_name} {t.baseline:.4g} {t.unit}" if t.baseline is not None else ""
    ratio = f"  ratio {t.ratio:.3g}" if t.ratio is not None else ""
    note = f"  ({t.note})" if t.note else ""
    print(f"[{verdict(t.passed)}] {t.name}: {value}{baseline}{ratio}  target {t.limit}{note}", flush=True)


def parse_args(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement; the best is kept")
    if extra:
        extra(parser)
    return parser.parse_args()


def start(doc: str, script: str, title: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> tuple[Report, argparse.Namespace]:
    """Parse a benchmark script's arguments, print its header, and give it an empty report."""
    args = parse_args(doc.splitlines()[0], extra)
    print_header(title)
    return Report(script), args


def machine_info() -> dict:
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def print_header(title: str) -> None:
    info = machine_info()
    print(f"== {title}")
    print(f"   {info['cpu']}, {info['cpus']} CPUs, load average {', '.join(f'{x:.2f}' for x in info['load_average'])}, {info['time']}")


def seconds(run: Callable[[], object]) -> float:
    """Wall time of one call."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def best_times(candidates: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time (s) of each callable, running them in turn ``repeats`` times after one warm-up round."""
    for run in candidates.values():
        run()
    best = {name: math.inf for name in candidates}
    for _ in range(repeats):
        for name, run in candidates.items():
            best[name] = min(best[name], seconds(run))
    return best


def photo_size(megapixels: float, aspect: float = 4 / 3) -> tuple[int, int]:
    """(width, height) of a 4:3 photo with about this many megapixels, both sides even."""
    height = math.sqrt(megapixels * 1e6 / aspect)
    return 2 * round(height * aspect / 2), 2 * round(height / 2)


def test_photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A real photo resized to width × height with a fixed sensor-like grain: (H, W, 3) uint8.

    The grain (Gaussian, σ = 3 grey levels) gives every size fine texture for the codecs.
    """
    from PIL import Image

    with Image.open(PHOTO) as img:
        base = np.asarray(img.convert("RGB").resize((width, height), Image.Resampling.BICUBIC))
    rng = np.random.default_rng(seed)
    out = base.astype(np.int16)
    for y0 in range(0, height, 512):  # in bands, so a 48 MP photo needs no 48 MP temporary of int16 noise
        band = out[y0 : y0 + 512]
        band += rng.normal(0.0, 3.0, size=band.shape).round().astype(np.int16)
    return np.clip(out, 0, 255).astype(np.uint8)


def photo_region(width: int, height: int) -> tuple[int, int, int, int]:
    """The face box of the test photo scaled to width × height."""
    x0, y0, x1, y1 = PHOTO_REGION
    sx, sy = width / 512, height / 512
    return (int(x0 * sx), int(y0 * sy), int(math.ceil(x1 * sx)), int(math.ceil(y1 * sy)))


def regions_field(width: int, height: int):
    """σ field of the ``regions`` scorer for the face box (linear map, σ_1 = 0, σ_max = 10): per pixel."""
    from pgpcodec.interfaces import SigmaField
    from pgpcodec.maths import sigma as sigma_maps
    from pgpcodec_scorers.basic import RegionsScorer

    score_map = RegionsScorer().score(np.zeros((height, width, 3), np.uint8), "", regions=[photo_region(width, height)])
    return SigmaField(sigma_maps.linear(score_map.scores, SIGMA_MAX, 0.0), score_map.grid)


def tile_field(width: int, height: int, seed: int = 0):
    """σ field of a tile scorer with random tile similarities, through the real softmax, aggregation and exponential map.

    Stands in for TinyCLIP's output when only the shape of the field matters
    (filter speed): block σ spread over the whole σ_1 … σ_max range.
    """
    from pgpcodec.interfaces import SigmaField
    from pgpcodec.maths import grid as grid_math
    from pgpcodec.maths import scores
    from pgpcodec.maths import sigma as sigma_maps
    from pgpcodec.tile_scorer import DEFAULT_TARGET_TILES, DEFAULT_TILE

    grid = grid_math.tile_grid(width, height, tile=DEFAULT_TILE, target_tiles=DEFAULT_TARGET_TILES)
    positions = grid_math.tile_positions(*grid.grid_size, DEFAULT_TILE, grid.block)
    similarities = np.random.default_rng(seed).normal(0.25, 0.03, len(positions))
    tile_scores = scores.softmax_scores(similarities, LOGIT_SCALE)
    blocks = scores.aggregate_blocks(tile_scores, positions, grid.grid_size, DEFAULT_TILE, grid.block)
    return SigmaField(sigma_maps.exponential(blocks, SIGMA_MAX, SIGMA_ONE), grid)


def available_memory_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_child(code: str, timeout: float = 600) -> dict:
    """Run Python ``code`` in a fresh interpreter; it prints one JSON object last. Adds its peak RSS (MB)."""
    wrapped = (
        "import json, resource, sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        f"{code}\n"
        "result['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps(result))\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


TINYCLIP57 = "TinyCLIP-auto-ViT-22M-32-Text-10M"
MODELS_DIR = HERE.parent / "bench-results" / "models"


def random_model(config: str = TINYCLIP57, model: str | None = None) -> Path:
    """A random-init export of a real TinyCLIP architecture (speed does not depend on the weights).

    ``model`` (a model directory) is used as given. Otherwise the export is
    made once with ``pgpcodec models export --random-init`` into
    bench-results/models/ and reused.
    """
    if model:
        return Path(model)
    out = MODELS_DIR / f"{config}-random"
    if not (out / "manifest.json").exists():
        command = [str(Path(sys.executable).with_name("pgpcodec")), "models", "export", "--config", config,
                   "--random-init", "--out", str(out), "--force"]
        print(f"   exporting {config} with random weights: {' '.join(command[1:])}", flush=True)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"could not export {config}: {done.stderr.strip()[-500:]}; pass --model DIR")
    return out


def model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help=f"model directory (default: a random-init {TINYCLIP57} export, made once)")


def model_or_not_measured(report: Report, args: argparse.Namespace, targets: list[str]) -> Path | None:
    """The benchmark model, or None after reporting every target as not measured (with the reason)."""
    try:
        model = random_model(model=args.model)
        import pgpcodec_scorers.tinyclip  # noqa: F401  (the scorer must be installed too)
    except (RuntimeError, ImportError) as exc:
        for name in targets:
            report.target(name=name, description="needs a tinyclip model", value=None, unit="", limit="-", passed=None, note=str(exc))
        return None
    return model
