"""Item 1: the tinyclip scorer through ONNX Runtime (RANDOM-INIT weights of the real architecture).

Speed does not depend on the weights; the score maps of a random model mean
nothing semantically, so the int8-vs-fp32 correlation below only measures
how faithfully int8 reproduces fp32's numbers, which is what it is for.

Targets, each measured against its baseline in the same run:
- fp32 vision encoder on one batch of 24 tiles: GFLOP/s (FLOPs counted from
  the graph, benchmarks/onnx_flops.py) ≥ 60 % of a large numpy sgemm's;
- int8 vision encoder ≥ 2× faster than fp32 on the same batch;
- int8 score maps: Pearson correlation with fp32's ≥ 0.99 on every case;
- text embeddings computed once per prompt (the cache is hit on reuse);
- ONNX Runtime session options set as documented (docs/scorers.md), and
  what they buy against onnxruntime's defaults.

    python benchmarks/bench_scorer.py [--model DIR] [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import sys
from unittest import mock

import numpy as np

import common
from onnx_flops import flops_per_item

BATCH = 24
SGEMM_SIZE = 2048
PROMPTS = ("a woman in a space suit", "the flag on the wall", "what is written on the badge")


def main() -> int:
    report, args = common.start(__doc__, "bench_scorer", "tinyclip scorer (ONNX Runtime), random-init weights", common.model_arguments)
    model = common.model_or_not_measured(report, args, ["scorer.gflops_vs_sgemm", "scorer.int8_speedup", "scorer.int8_correlation", "scorer.text_cache", "scorer.session_options"])
    if model is None:
        return report.finish(args.json)
    from pgpcodec_scorers.tinyclip.scorer import TinyClipScorer

    fp32 = TinyClipScorer(model=model, precision="fp32", batch_size=BATCH)
    int8 = TinyClipScorer(model=model, precision="int8", batch_size=BATCH)
    manifest = fp32.manifest
    print(f"   model {manifest.architecture} ({manifest.weights}), {fp32.threads} threads, batch {BATCH}")
    size = fp32.tile_size
    tiles = np.random.default_rng(0).standard_normal((BATCH, 3, size, size)).astype(np.float32)
    flops = BATCH * flops_per_item(manifest.path("vision"), (3, size, size))
    a = np.random.default_rng(1).standard_normal((SGEMM_SIZE, SGEMM_SIZE)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal((SGEMM_SIZE, SGEMM_SIZE)).astype(np.float32)
    times = common.best_times(
        {
            "sgemm": lambda: a @ b,
            "fp32": lambda: fp32.embed_tiles(tiles),
            "int8": lambda: int8.embed_tiles(tiles),
        },
        args.repeats,
    )
    sgemm_rate = 2 * SGEMM_SIZE**3 / times["sgemm"] / 1e9
    vision_rate = flops / times["fp32"] / 1e9
    report.figure(vision_gflop_per_batch=flops / 1e9, fp32_s=times["fp32"], int8_s=times["int8"], sgemm_gflops=sgemm_rate)
    report.target(
        name="scorer.gflops_vs_sgemm", description=f"fp32 vision encoder on {BATCH} tiles vs numpy sgemm {SGEMM_SIZE}²",
        value=vision_rate, unit="GFLOP/s", baseline=sgemm_rate, baseline_name=f"numpy sgemm {SGEMM_SIZE}",
        ratio=vision_rate / sgemm_rate, limit="ratio >= 0.6", passed=vision_rate / sgemm_rate >= 0.6,
        note=f"{flops / 1e9:.1f} GFLOP per batch, counted from the graph",
    )
    report.target(
        name="scorer.int8_speedup", description=f"int8 vs fp32 vision encoder on {BATCH} tiles",
        value=times["int8"], unit="s", baseline=times["fp32"], baseline_name="fp32",
        ratio=times["fp32"] / times["int8"], limit="speed-up >= 2", passed=times["fp32"] / times["int8"] >= 2,
    )
    measure_correlation(report, fp32, int8)
    measure_text_cache(report, fp32)
    measure_session_options(report, model, tiles, args.repeats)
    return report.finish(args.json)


def measure_correlation(report: common.Report, fp32, int8) -> None:
    """Pearson correlation of int8 and fp32 block score maps, over photo sizes and prompts."""
    correlations = []
    for megapixels in (0.25, 1.0):
        image = common.test_photo(*common.photo_size(megapixels))
        for prompt in PROMPTS:
            reference = fp32.score(image, prompt).scores.ravel()
            quantised = int8.score(image, prompt).scores.ravel()
            correlations.append(float(np.corrcoef(reference, quantised)[0, 1]))
    worst = min(correlations)
    report.target(
        name="scorer.int8_correlation", description="int8 vs fp32 block score maps, Pearson r (worst case)",
        value=worst, unit="r", limit=">= 0.99", passed=worst >= 0.99,
        note=f"{len(correlations)} cases, mean r {np.mean(correlations):.4f}; random weights",
    )


def measure_text_cache(report: common.Report, scorer) -> None:
    text = "a prompt not embedded before in this process"
    before = scorer.text_cache_info()
    first, again = (common.seconds(lambda: scorer.embed_text(text)) for _ in range(2))
    after = scorer.text_cache_info()
    hit = after.hits == before.hits + 1 and after.misses == before.misses + 1
    report.target(
        name="scorer.text_cache", description="second embedding of the same prompt comes from the cache",
        value=again, unit="s", baseline=first, baseline_name="first call (text encoder)",
        ratio=first / again, limit="cache hit on reuse", passed=hit,
        note=f"cache misses {after.misses - before.misses}, hits {after.hits - before.hits}",
    )


def measure_session_options(report: common.Report, model, tiles: np.ndarray, repeats: int) -> None:
    """The shipped options are the documented ones; time them against onnxruntime's defaults."""
    import onnxruntime as ort

    from pgpcodec_scorers.tinyclip import scorer as tinyclip

    options = tinyclip.session_options(2)
    documented = (
        options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        and options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
        and options.intra_op_num_threads == 2
        and options.inter_op_num_threads == 1
    )
    shipped = tinyclip.TinyClipScorer(model=model, batch_size=BATCH)
    with mock.patch.object(tinyclip, "session_options", lambda threads: ort.SessionOptions()):
        defaults = tinyclip.TinyClipScorer(model=model, batch_size=BATCH)
    times = common.best_times({"shipped": lambda: shipped.embed_tiles(tiles), "defaults": lambda: defaults.embed_tiles(tiles)}, repeats)
    report.target(
        name="scorer.session_options", description="session options as documented; time against onnxruntime defaults",
        value=times["shipped"], unit="s", baseline=times["defaults"], baseline_name="onnxruntime defaults",
        ratio=times["defaults"] / times["shipped"], limit="set as documented", passed=documented,
        note="graph optimisation ALL, sequential, intra-op threads = cores, inter-op 1 (docs/scorers.md)",
    )


if __name__ == "__main__":
    sys.exit(main())
