"""Item 3 (quality): BD-rate of the ``native`` filter against the paper's ``reference`` filter.

Runs ``pgpcodec bench`` on the built-in dev set (27 questions, 9 photos)
with the ``regions`` scorer (the regions needed to answer, no model) and
the variants ``plain``, ``prefilter`` (native) and ``prefilter@reference``,
for jpeg, heic and vvenc at the bench's default qualities. The run is
resumable: a second call reuses its rows.

From the bench's curve points it prints, per codec:
- the BD-rate of native against reference at equal ROI-PSNR (the target:
  native must spend fewer bits, BD-rate < 0, for every codec), and each
  against the plain codec;
- the PSNR outside the regions, as BD-PSNR of native against reference at
  equal bpp and as the mean over the quality points, so what native costs
  the context around the regions is visible; and the mean context PSNR
  (outside the regions at 448 px long side, the VLM's scale).

    python benchmarks/bench_quality.py [--codecs jpeg,heic,vvenc] [--out bench-results/perf-quality] [--json out.json]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import common

VARIANTS = ("plain", "prefilter", "prefilter@reference")


def _extra(parser) -> None:
    parser.add_argument("--codecs", default="jpeg,heic,vvenc")
    parser.add_argument("--out", default=str(common.HERE.parent / "bench-results" / "perf-quality"))
    parser.add_argument("--quick", action="store_true", help="two qualities per codec instead of four")


def main() -> int:
    report, args = common.start(__doc__, "bench_quality", "native vs reference filter: BD-rate on the dev set (regions scorer)", _extra)
    from pgpcodec.plugins import get_registry

    installed = set(get_registry().names("codec"))
    codecs = [codec for codec in args.codecs.split(",") if codec in installed]
    for codec in args.codecs.split(","):
        if codec not in installed:
            report.target(name=f"quality.native_vs_reference.{codec}", description="codec not installed", value=None,
                          unit="%", limit="< 0 (native wins)", passed=None, note=f"codec {codec!r} is not installed (pgpcodec plugins)")
    command = [str(Path(sys.executable).with_name("pgpcodec")), "bench", "--dataset", "dev", "--scorer", "regions",
               "--codecs", ",".join(codecs), "--variants", ",".join(VARIANTS), "--out", args.out]
    if args.quick:
        quick = {"jpeg": "35,75", "heic": "45,75", "vvenc": "37,27"}
        command += [f"--qualities={codec}={quick[codec]}" for codec in codecs if codec in quick]
    print(f"   $ pgpcodec {' '.join(command[1:])}", flush=True)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not (Path(args.out) / "results.json").exists():
        for codec in codecs:
            report.target(name=f"quality.native_vs_reference.{codec}", description="needs pgpcodec bench", value=None,
                          unit="%", limit="< 0 (native wins)", passed=None, note=(done.stderr.strip() or done.stdout.strip())[-300:])
        return report.finish(args.json)
    print(f"   bench took {time.perf_counter() - start:.0f} s")
    measure(report, json.loads((Path(args.out) / "results.json").read_text()), codecs)
    return report.finish(args.json)


def measure(report: common.Report, results: dict, codecs: list[str]) -> None:
    from bjontegaard import bd_psnr

    from pgpcodec.bench.bdrate import Point, bd_rate

    points = {tuple(key.split("|")): [Point(**p) for p in curve] for key, curve in results["points"].items()}
    for codec in codecs:
        native, reference, plain = (points.get((variant, codec), []) for variant in ("prefilter", "prefilter@reference", "plain"))
        against_reference = bd_rate(reference, native)
        outside, context = {}, {}
        for name, curve in (("native", native), ("reference", reference), ("plain", plain)):
            values = [p.outside_psnr for p in curve if p.outside_psnr is not None]
            outside[name] = sum(values) / len(values) if values else None
            values = [p.context_psnr for p in curve if p.context_psnr is not None]
            context[name] = sum(values) / len(values) if values else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outside_delta = bd_psnr(
                [p.bpp for p in reference], [p.outside_psnr for p in reference],
                [p.bpp for p in native], [p.outside_psnr for p in native],
                method="pchip", require_matching_points=False, min_overlap=0,
            ) if len(native) > 1 and len(reference) > 1 else None
        report.figure(
            codec=codec,
            native_vs_plain_bd_rate=bd_rate(plain, native).value, reference_vs_plain_bd_rate=bd_rate(plain, reference).value,
            outside_psnr_native=outside["native"], outside_psnr_reference=outside["reference"], outside_psnr_plain=outside["plain"],
            outside_bd_psnr_native_vs_reference=outside_delta,
            context_psnr_native=context["native"], context_psnr_reference=context["reference"], context_psnr_plain=context["plain"],
        )
        value = against_reference.value
        report.target(
            name=f"quality.native_vs_reference.{codec}", description=f"BD-rate of native vs reference at equal ROI-PSNR, {codec}",
            value=value, unit="%", baseline=None, baseline_name="reference profile", limit="< 0 (native wins)",
            passed=None if value is None else value < 0,
            note="; ".join(filter(None, [against_reference.note,
                                         f"outside-region PSNR {outside_delta:+.2f} dB at equal bpp" if outside_delta is not None else ""])),
        )


if __name__ == "__main__":
    sys.exit(main())
