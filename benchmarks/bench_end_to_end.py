"""Item 4 (end to end): prefilter + encode time at 1 MP, and peak memory encoding 12 MP.

- A 1 MP photo through ``Pipeline.encode`` with a tinyclip57-sized model
  (TinyCLIP-auto-ViT-22M-32-Text-10M, random-init weights) at int8 and
  JPEG quality 75: scoring, σ map, native filter and encoding, the prompt's
  text embedding already cached (a device sends many photos per prompt
  kind; the first call of a new prompt adds one text-encoder run, printed
  too). Baseline: the plain JPEG encode of the same photo.
- Peak RSS of a fresh process that builds the same pipeline (fp32, the
  default precision, and the paper's tiling: the heaviest default case)
  and encodes a 12 MP photo, against the same process before encoding.

Targets (issue #6, item 4): ≤ 0.5 s at 1 MP; ≤ 1 GB peak at 12 MP.

    python benchmarks/bench_end_to_end.py [--model DIR] [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import sys

import common

PROMPT = "Is the woman in the image smiling? Please answer yes or no."
QUALITY = 75


def main() -> int:
    report, args = common.start(__doc__, "bench_end_to_end", "end to end: prefilter + encode (random-init TinyCLIP)", common.model_arguments)
    model = common.model_or_not_measured(report, args, ["end_to_end.1MP_int8_jpeg", "end_to_end.12MP_peak_rss"])
    if model is None:
        return report.finish(args.json)
    from pgpcodec_scorers.tinyclip.scorer import TinyClipScorer
    from pgpcodec.pipeline import Pipeline

    image = common.test_photo(*common.photo_size(1))
    pipeline = Pipeline(scorer=TinyClipScorer(model=model, precision="int8"), codec="jpeg")
    first_prompt = common.seconds(lambda: pipeline.encode(image, PROMPT, quality=QUALITY))
    times = common.best_times(
        {
            "pipeline": lambda: pipeline.encode(image, PROMPT, quality=QUALITY),
            "plain jpeg": lambda: pipeline.encode(image, quality=QUALITY, prefilter=False),
        },
        args.repeats,
    )
    stages = dict(pipeline.encode(image, PROMPT, quality=QUALITY).timings)
    report.figure(first_call_with_new_prompt_s=first_prompt, **{f"{k}_s": v for k, v in stages.items()})
    report.target(
        name="end_to_end.1MP_int8_jpeg", description="1 MP photo, tinyclip57-sized int8 model, prefilter + JPEG encode",
        value=times["pipeline"], unit="s", baseline=times["plain jpeg"], baseline_name="plain JPEG encode",
        ratio=times["pipeline"] / times["plain jpeg"], limit="<= 0.5 s", passed=times["pipeline"] <= 0.5,
        note=f"first call with a new prompt {first_prompt:.3f} s",
    )
    child = common.run_child(
        "import common, resource\n"
        "from pgpcodec.pipeline import Pipeline\n"
        "from pgpcodec_scorers.tinyclip.scorer import TinyClipScorer\n"
        f"image = common.test_photo(*common.photo_size(12))\n"
        f"pipeline = Pipeline(scorer=TinyClipScorer(model={str(model)!r}), codec='jpeg')\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        f"encoded = pipeline.encode(image, {PROMPT!r}, quality={QUALITY})\n"
        "result = {'before_mb': before, 'bytes': len(encoded.data), 'timings': dict(encoded.timings)}\n"
    )
    report.figure(**{f"12MP_{k}": v for k, v in child["timings"].items()}, rss_before_encode_mb=child["before_mb"])
    report.target(
        name="end_to_end.12MP_peak_rss", description="peak RSS of a process encoding a 12 MP photo (fp32, paper's tiling, JPEG)",
        value=child["peak_rss_mb"], unit="MB", baseline=child["before_mb"], baseline_name="same process before encoding",
        ratio=child["peak_rss_mb"] / child["before_mb"], limit="<= 1024 MB", passed=child["peak_rss_mb"] <= 1024,
    )
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
