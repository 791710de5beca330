"""The text scorer (PP-OCRv4, real pretrained weights) against the tinyclip23 int8 scorer (RANDOM-INIT weights).

Targets, each measured against its baseline in the same run:
- text detection on a 1 MP photo takes at most 1.5× the time the tinyclip23
  int8 scorer takes to score the same photo. tinyclip23's weights are
  random (no pretrained TinyCLIP installs here); its speed does not depend
  on them;
- the text scorer adds at most 60 MB of peak RSS: a fresh process
  prefiltering the photo with ``text`` against one doing the same with
  ``uniform``, with a prompt about text (detection only) and one that is
  not (detection and recognition). The fair baseline has ONNX Runtime
  imported already, as pgpcodec's default scorer (tinyclip) loads it: the
  target is measured against it. The figure without ONNX Runtime in the
  baseline is printed too, with a breakdown of what the text scorer loads.

    python benchmarks/bench_text.py [--model DIR] [--repeats 5] [--json out.json]

``--model`` is a tinyclip23 model directory (default: a random-init export,
made once into bench-results/models/).
"""

from __future__ import annotations

import sys

import common

TINYCLIP23 = "TinyCLIP-ViT-8M-16-Text-3M"
TEXT_PROMPT = "what is written on the badge"
OTHER_PROMPT = "a woman in a space suit"


def peak_rss(scorer: str, prompt: str, with_onnxruntime: bool = True) -> dict:
    """Peak RSS (MB) of building the pipeline and prefiltering, over the RSS just before, in a fresh process.

    Importing pgpcodec and loading its plugins peaks high (and frees it)
    before anything is scored, so the kernel's high-water mark is reset
    (``/proc/self/clear_refs``) once the photo is ready. ``with_onnxruntime``:
    ONNX Runtime is imported before that, as in a process whose default
    scorer (tinyclip) uses it.
    """
    return common.run_child(
        "import common\n"
        "from pathlib import Path\n"
        "from pgpcodec.pipeline import Pipeline\n"
        "from pgpcodec.plugins import get_registry\n"
        "def status(key):\n"
        "    line = next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith(key))\n"
        "    return int(line.split()[1]) / 1024\n"
        "get_registry()\n"
        + ("import onnxruntime\n" if with_onnxruntime else "")
        +
        "image = common.test_photo(*common.photo_size(1))\n"
        "Path('/proc/self/clear_refs').write_text('5')\n"
        "before = status('VmRSS:')\n"
        f"pipeline = Pipeline(scorer={scorer!r}, codec='jpeg', prompt_processor='none')\n"
        f"pipeline.prefilter(image, {prompt!r})\n"
        "result = {'before_mb': before, 'hwm_mb': status('VmHWM:'), 'added_mb': status('VmHWM:') - before}\n"
    )


def import_costs() -> dict:
    """RSS (MB) each piece the text scorer loads adds, in load order, in a fresh process; then the peak detection adds (activations)."""
    return common.run_child(
        "from pathlib import Path\n"
        "def rss():\n"
        "    line = next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmRSS:'))\n"
        "    return int(line.split()[1]) / 1024\n"
        "import pgpcodec.pipeline\n"
        "result, last = {}, rss()\n"
        "def step(name):\n"
        "    global last\n"
        "    now = rss(); result[name] = now - last; last = now\n"
        "import onnxruntime; step('onnxruntime_import_mb')\n"
        "import cv2; step('opencv_import_mb')\n"
        "import shapely, pyclipper, yaml, rapidocr_onnxruntime.ch_ppocr_det; step('shapely_pyclipper_rapidocr_import_mb')\n"
        "from pgpcodec_scorers.text import OcrEngine\n"
        "engine = OcrEngine(); step('detector_session_mb')\n"
        "import common\n"
        "image = common.test_photo(*common.photo_size(1)); last = rss()\n"
        "Path('/proc/self/clear_refs').write_text('5')\n"
        "engine.detect(image)\n"
        "hwm = next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM:'))\n"
        "result['detection_peak_mb'] = int(hwm.split()[1]) / 1024 - last\n"
    )


def main() -> int:
    report, args = common.start(__doc__, "bench_text", "text scorer (PP-OCRv4) vs tinyclip23 int8 (random-init)", common.model_arguments)
    try:
        from pgpcodec_scorers.text import TextScorer
    except ImportError as exc:
        for name in ("text.detect_vs_tinyclip23", "text.added_peak_rss"):
            report.target(name=name, description="needs the text extra", value=None, unit="", limit="-", passed=None, note=str(exc))
        return report.finish(args.json)
    try:
        model = common.random_model(TINYCLIP23, args.model)
    except RuntimeError as exc:
        model = None
        report.target(name="text.detect_vs_tinyclip23", description="needs a tinyclip23 model", value=None, unit="",
                      limit="-", passed=None, note=str(exc))
    image = common.test_photo(*common.photo_size(1))
    text = TextScorer()
    if model is not None:
        from pgpcodec_scorers.tinyclip.scorer import TinyClipScorer

        clip = TinyClipScorer(model=model, precision="int8")
        clip.score(image, OTHER_PROMPT)  # the prompt's text embedding is cached, as on every later call
        times = common.best_times(
            {
                "detect": lambda: text.engine.detect(image, text.min_side, text.max_side),
                "tinyclip23": lambda: clip.score(image, OTHER_PROMPT),
            },
            args.repeats,
        )
        ratio = times["detect"] / times["tinyclip23"]
        report.target(
            name="text.detect_vs_tinyclip23",
            description=f"text detection on a {image.shape[1]}x{image.shape[0]} photo vs tinyclip23 int8 scoring it (RANDOM-INIT weights)",
            value=times["detect"], unit="s", baseline=times["tinyclip23"], baseline_name="tinyclip23 int8, random-init",
            ratio=ratio, limit="<= 1.5x", passed=ratio <= 1.5,
        )
    bare = peak_rss("uniform", TEXT_PROMPT, with_onnxruntime=False)
    bare_text = peak_rss("text", OTHER_PROMPT, with_onnxruntime=False)
    report.figure(baseline="pgpcodec + plugins loaded, 1 MP photo in memory, NO onnxruntime",
                  rss_before_mb=bare["before_mb"], uniform_added_mb=bare["added_mb"],
                  text_with_recognition_added_mb=bare_text["added_mb"],
                  text_over_uniform_mb=bare_text["added_mb"] - bare["added_mb"])
    base = peak_rss("uniform", TEXT_PROMPT)
    detect_only = peak_rss("text", TEXT_PROMPT)
    with_recognition = peak_rss("text", OTHER_PROMPT)
    report.figure(baseline="pgpcodec + plugins loaded, 1 MP photo in memory, onnxruntime imported (as the default tinyclip scorer does)",
                  rss_before_mb=base["before_mb"], uniform_added_mb=base["added_mb"],
                  text_detect_only_added_mb=detect_only["added_mb"],
                  text_with_recognition_added_mb=with_recognition["added_mb"])
    costs = import_costs()
    costs.pop("peak_rss_mb", None)
    report.figure(**costs)
    worst = max(detect_only["added_mb"], with_recognition["added_mb"])
    added = worst - base["added_mb"]
    report.target(
        name="text.added_peak_rss",
        description="peak RSS the text scorer adds while prefiltering a 1 MP photo (worst of detect-only and with recognition)",
        value=added, unit="MB", baseline=base["added_mb"], baseline_name="peak added by the uniform scorer's prefilter",
        limit="<= 60 MB", passed=added <= 60,
        note="baseline has onnxruntime imported (pgpcodec's default scorer loads it)",
    )
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
