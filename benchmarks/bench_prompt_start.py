"""Fast start (issue 16): what the prompt processor adds to one ``pgpcodec encode`` run.

Each command runs in a fresh process (the start-up cost is the point), in
turn with its baseline, best of ``--repeats``:

- ``pgpcodec encode`` of a 1 MP photo with ``--scorer regions`` and the
  default prompt processor (``nltk``), against the same command with
  ``--prompt-processor none``. Target: at most 1.3x. (``regions`` ignores
  the prompt, so the processor should not even be loaded.)
- ``pgpcodec encode`` of the same photo with a random-init tinyclip23
  (TinyCLIP-ViT-8M-16-Text-3M) model folder at int8, default processor:
  the wall time of the whole run. Target: at most 1.5 s. Its ``--prompt-processor
  none`` run is printed as the baseline. The weights are random (no
  pretrained TinyCLIP exists here): only the time means anything.

    python benchmarks/bench_prompt_start.py [--repeats 5] [--model DIR] [--json out.json]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import common
from PIL import Image

TINYCLIP23 = "TinyCLIP-ViT-8M-16-Text-3M"
PROMPT = "Is the woman in the image smiling? Please answer yes or no."


def encode_runner(photo: Path, out: Path, *extra: str):
    command = [str(Path(sys.executable).with_name("pgpcodec")), "encode", str(photo), "-p", PROMPT, "-o", str(out), "--force", *extra]

    def run() -> None:
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command[1:])} failed: {done.stderr.strip()}")

    return run


def main() -> int:
    report, args = common.start(
        __doc__, "bench_prompt_start", "fast start: the prompt processor in one encode run",
        lambda parser: parser.add_argument("--model", help=f"model directory (default: a random-init {TINYCLIP23} export, made once)"),
    )
    width, height = common.photo_size(1)
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo.png"
        Image.fromarray(common.test_photo(width, height)).save(photo)
        out = Path(tmp) / "out.jpg"
        region = ",".join(map(str, common.photo_region(width, height)))
        regions = ["--scorer", "regions", "--regions", region]
        times = common.best_times(
            {"nltk": encode_runner(photo, out, *regions), "none": encode_runner(photo, out, *regions, "--prompt-processor", "none")},
            args.repeats,
        )
        ratio = times["nltk"] / times["none"]
        report.target(
            name="fast_start.regions_default_vs_none",
            description=f"wall time of `pgpcodec encode` ({width}x{height}, --scorer regions), default prompt processor",
            value=times["nltk"], unit="s", baseline=times["none"], baseline_name="--prompt-processor none",
            ratio=ratio, limit="<= 1.3x", passed=ratio <= 1.3,
        )
        model = common.random_model(TINYCLIP23, args.model)
        clip = ["--scorer", str(model), "--scorer-option", "precision=int8"]
        times = common.best_times(
            {"nltk": encode_runner(photo, out, *clip), "none": encode_runner(photo, out, *clip, "--prompt-processor", "none")},
            args.repeats,
        )
        report.target(
            name="fast_start.tinyclip23_int8_encode",
            description=f"wall time of `pgpcodec encode` ({width}x{height}) with a RANDOM-INIT {TINYCLIP23} int8 model, default prompt processor",
            value=times["nltk"], unit="s", baseline=times["none"], baseline_name="--prompt-processor none",
            ratio=times["nltk"] / times["none"], limit="<= 1.5 s", passed=times["nltk"] <= 1.5,
            note="random-init weights: only the time means anything",
        )
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
