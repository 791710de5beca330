"""What ``--fit`` saves: bytes at equal VLM-view PSNR, per target family, on large real photos.

The photos are four 2560×1600 photographs from Debian's mate-backgrounds
package with annotated regions (benchmarks/data/fit/, LICENSES.md there).

VLM-view PSNR: the original and the decoded image are both resized with the
target's own rule (:meth:`pgpcodec.fit.FitRule.view_size`, bicubic, as the
open models' processors resample) to the size the model looks at, then the
PSNR is taken over the whole view and over the regions (mapped to the view).

For every target it compares, per codec, over the same qualities:

- ``fit`` (plain codec on the fitted image) against ``full`` (plain codec
  at full resolution): the BD-rate in bytes at equal VLM-view PSNR;
- ``fit+prefilter`` against ``prefilter`` (full resolution), with the
  ``regions`` scorer on the annotated regions (no model involved).

bpp is counted per original pixel everywhere, so a BD-rate is a change in bytes.
Besides the BD-rate (over the PSNR range both curves reach), it prints the
bytes each needs to reach fixed VLM-view PSNR levels (log-bytes interpolated
between neighbouring qualities). A quality whose PSNR is not above every
cheaper quality's (JPEG at 95 vs 90 here) is dominated and left out of a curve.

    python benchmarks/bench_fit.py [--codecs jpeg,webp] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "data" / "fit" / "fit.jsonl"
LADDER = (5, 10, 20, 35, 50, 65, 80, 90, 95, 98)
QUALITIES = {"jpeg": LADDER, "webp": LADDER}
VARIANTS = ("full", "fit", "prefilter", "fit+prefilter")


def view(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize(tuple(size), Image.Resampling.BICUBIC))


LEVELS = (35.0, 38.0, 41.0)
"""VLM-view PSNR levels (dB) at which the bytes are compared."""


def monotone(points):
    """The points whose score beats every cheaper point's: a rate–quality curve rises."""
    kept, best = [], float("-inf")
    for point in sorted(points, key=lambda p: p.bpp):
        if point.score > best:
            kept.append(point)
            best = point.score
    return kept


def bpp_at(points, level: float) -> float | None:
    """bpp where the curve first reaches ``level``, log-bpp interpolated; None if it never does."""
    points = monotone(points)
    for low, high in zip(points, points[1:]):
        if low.score <= level <= high.score:
            t = (level - low.score) / (high.score - low.score)
            return float(np.exp(np.log(low.bpp) + t * (np.log(high.bpp) - np.log(low.bpp))))
    return None


def main(argv=None) -> int:
    from pgpcodec.bench.bdrate import Point, bd_rate
    from pgpcodec.bench.dataset import load_dataset
    from pgpcodec.bench.metrics import fidelity
    from pgpcodec.fit import apply_fit, map_box, resolve
    from pgpcodec_fit_targets.rules import BUILTIN_RULES
    from pgpcodec.imaging import load_image
    from pgpcodec.pipeline import Pipeline
    from pgpcodec.plugins import get_registry

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codecs", default="jpeg,webp")
    parser.add_argument("--targets", default=",".join(BUILTIN_RULES))
    parser.add_argument("--json", type=Path, default=None, help="Also write every figure as JSON here.")
    args = parser.parse_args(argv)
    codecs = [c.strip() for c in args.codecs.split(",") if c.strip()]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    registry = get_registry()
    pipeline = Pipeline(scorer="regions", codec="jpeg", prompt_processor="none")
    rows = load_dataset(str(MANIFEST)).rows
    started = time.perf_counter()

    # per (target, variant, codec, quality): lists of (bpp, view psnr, view roi psnr) over the photos
    samples: dict[tuple, list[tuple[float, float, float]]] = {}
    sizes: dict[str, list[tuple]] = {t: [] for t in targets}
    for row in rows:
        original, _ = load_image(row.image)
        height, width = original.shape[:2]
        filtered = pipeline.prefilter(original, row.prompt, regions=row.regions).image
        fitted_inputs = {}
        for target in targets:
            rule = resolve(target, registry)
            fitted = apply_fit(original, rule, row.regions)
            fitted_pre = pipeline.prefilter(fitted.image, row.prompt, regions=fitted.regions).image
            fitted_inputs[target] = (rule, fitted, fitted_pre)
            sizes[target].append(((width, height), fitted.fitted_size, rule.view_size(width, height)))
        for codec_name in codecs:
            codec = registry.create("codec", codec_name)
            for quality in QUALITIES.get(codec_name, QUALITIES["jpeg"]):
                decoded_full = {}
                for name, pixels in (("full", original), ("prefilter", filtered)):
                    encoded = codec.encode(pixels, quality)
                    decoded_full[name] = (len(encoded.data), codec.decode(encoded.data))
                for target, (rule, fitted, fitted_pre) in fitted_inputs.items():
                    view_size = rule.view_size(width, height)
                    reference = view(original, view_size)
                    regions = [map_box(box, (width, height), view_size) for box in row.regions]
                    candidates = dict(decoded_full)
                    for name, pixels in (("fit", fitted.image), ("fit+prefilter", fitted_pre)):
                        encoded = codec.encode(pixels, quality)
                        candidates[name] = (len(encoded.data), codec.decode(encoded.data))
                    for name, (size, decoded) in candidates.items():
                        metrics = fidelity(reference, view(decoded, view_size), regions)
                        bpp = 8.0 * size / (width * height)
                        samples.setdefault((target, name, codec_name, quality), []).append((bpp, metrics["psnr"], metrics["roi_psnr"]))
        print(f"  {row.image.name}: done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    def points(target, variant, codec_name, metric):
        out = []
        for quality in QUALITIES.get(codec_name, QUALITIES["jpeg"]):
            items = samples[(target, variant, codec_name, quality)]
            bpp = float(np.mean([i[0] for i in items]))
            psnr, roi = float(np.mean([i[1] for i in items])), float(np.mean([i[2] for i in items]))
            score = psnr if metric == "psnr" else roi
            out.append(Point(quality, len(items), bpp, score, psnr, roi, None))
        return out

    figures = []
    print(f"\n{len(rows)} photos of 2560x1600, codecs {', '.join(codecs)}; BD-rate in bytes at equal VLM-view PSNR (negative = fewer bytes)")
    print(f"{'target':16} {'sent size':>10} {'view size':>10} {'codec':6} {'fit vs full':>12} {'(ROI)':>9} {'fit+pre vs pre':>15} {'(ROI)':>9} {'bytes q65 fit/full':>19}")
    for target in targets:
        (orig, sent, seen) = sizes[target][0]
        for codec_name in codecs:
            result = {"target": target, "codec": codec_name, "original_size": orig, "sent_size": sent, "view_size": seen}
            for test, anchor in (("fit", "full"), ("fit+prefilter", "prefilter")):
                for metric in ("psnr", "roi_psnr"):
                    anchor_points, test_points = points(target, anchor, codec_name, metric), points(target, test, codec_name, metric)
                    bd = bd_rate(monotone(anchor_points), monotone(test_points))
                    result[f"{test} vs {anchor} ({metric})"] = bd.to_dict()
                    for level in LEVELS:
                        a, t = bpp_at(anchor_points, level), bpp_at(test_points, level)
                        result[f"{test} vs {anchor} ({metric}) bytes ratio at {level:g} dB"] = None if a is None or t is None else t / a
            q65 = {v: float(np.mean([i[0] for i in samples[(target, v, codec_name, 65)]])) for v in VARIANTS}
            result["bpp_at_q65"] = q65
            result["curves"] = {v: [p.to_dict() for p in points(target, v, codec_name, "psnr")] for v in VARIANTS}
            figures.append(result)

            def cell(key):
                value = result[key]["bd_rate_percent"]
                return "n/a" if value is None else f"{value:+.1f} %" + (" *" if result[key]["note"] else "")

            print(
                f"{target:16} {sent[0]:>4}x{sent[1]:<5} {seen[0]:>4}x{seen[1]:<5} {codec_name:6} "
                f"{cell('fit vs full (psnr)'):>12} {cell('fit vs full (roi_psnr)'):>9} "
                f"{cell('fit+prefilter vs prefilter (psnr)'):>15} {cell('fit+prefilter vs prefilter (roi_psnr)'):>9} "
                f"{q65['fit'] / q65['full']:>18.3f}x"
            )
    print("(* = the score ranges overlap less than 75 %; see the JSON for the note)")
    print(f"\nbytes of the fitted variant / bytes without fit, at equal VLM-view PSNR ({', '.join(f'{v:g}' for v in LEVELS)} dB; - = not reached)")
    print(f"{'target':16} {'codec':6} {'fit/full, whole view':>24} {'fit/full, ROI':>20} {'fit+pre/pre, ROI':>20}")
    for result in figures:
        def ratios(key):
            values = [result[f"{key} bytes ratio at {level:g} dB"] for level in LEVELS]
            return " ".join("   -" if v is None else f"{v:4.2f}" for v in values)

        print(
            f"{result['target']:16} {result['codec']:6} {ratios('fit vs full (psnr)'):>24} "
            f"{ratios('fit vs full (roi_psnr)'):>20} {ratios('fit+prefilter vs prefilter (roi_psnr)'):>20}"
        )
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"script": "bench_fit.py", "figures": figures}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
