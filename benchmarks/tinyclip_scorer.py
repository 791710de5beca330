"""Speed of the tinyclip scorer: chosen session options, batching and int8 against baselines.

    python benchmarks/tinyclip_scorer.py [--model NAME_OR_DIR] [--repeats 5]

Without ``--model`` it builds the tiny random-init test model, which is far
smaller than TinyCLIP: its figures show per-call overhead, not ViT speed.
Give an exported model (``pgpcodec models``) for representative figures.
Timings do not depend on the weights, but every run says whether they were
random.

Rows (median seconds over the repeats, ratio against the baseline row):
- baseline: onnxruntime's default session options, one tile per run;
- the scorer as shipped (optimisation ALL, sequential, all cores, batches of 16);
- the same with one tile per run (what batching buys);
- int8, when the model has the int8 graphs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import contextmanager
from unittest import mock

import numpy as np


def photo(width: int = 640, height: int = 480) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], axis=-1).astype(np.uint8)
    image[height // 5 : height // 2, width // 2 : 4 * width // 5] = (220, 40, 40)
    return image


@contextmanager
def default_session_options():
    """Swap in onnxruntime's defaults, to measure what the chosen options buy."""
    import onnxruntime as ort

    from pgpcodec_scorers.tinyclip import scorer as tinyclip

    with mock.patch.object(tinyclip, "session_options", lambda threads: ort.SessionOptions()):
        yield


def median_seconds(scorer, image: np.ndarray, repeats: int) -> float:
    scorer.score(image, "red box")  # warm-up: first run allocates
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        scorer.score(image, "red box")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    from pgpcodec_scorers.tinyclip.scorer import TinyClipScorer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="installed model name or model directory (default: build the tiny test model)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        model = args.model
        if model is None:
            from pgpcodec_scorers.tinyclip.testing import build_tiny_clip

            model = build_tiny_clip(f"{scratch}/tiny")
        image = photo()
        start = time.perf_counter()
        shipped = TinyClipScorer(model=model)
        load_seconds = time.perf_counter() - start
        manifest = shipped.manifest
        tiles = len(shipped.score(image, "red box").tile_scores)
        print(f"model: {manifest.name} ({manifest.architecture}), weights: {manifest.weights}"
              + ("  [RANDOM WEIGHTS: timings only]" if manifest.random_init else ""))
        print(f"image 640x480 -> {tiles} tiles of {manifest.image_size} px; threads {shipped.threads}; "
              f"scorer load {load_seconds:.3f} s")
        with default_session_options():
            baseline = median_seconds(TinyClipScorer(model=model, batch_size=1), image, args.repeats)
        rows = [("baseline: onnxruntime defaults, 1 tile per run", baseline),
                ("shipped: options as documented, batch 16", median_seconds(shipped, image, args.repeats)),
                ("shipped options, 1 tile per run", median_seconds(TinyClipScorer(model=model, batch_size=1), image, args.repeats))]
        if manifest.has("vision_int8"):
            rows.append(("shipped options, int8", median_seconds(TinyClipScorer(model=model, precision="int8"), image, args.repeats)))
        for label, seconds in rows:
            print(f"{label:<50} {seconds * 1000:9.2f} ms  x{baseline / seconds:5.2f} vs baseline")
        text = "what colour is the red box on the wall"
        start = time.perf_counter()
        shipped.embed_text(text)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        shipped.embed_text(text)
        cached = time.perf_counter() - start
        print(f"text embedding: first {cold * 1000:.3f} ms, cached {cached * 1000:.4f} ms")


if __name__ == "__main__":
    main()
