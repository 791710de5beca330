"""Item 3 (speed): the ``native`` filter against the reference's per-block loop and one full-image blur.

For each photo size and each σ field (the ``regions`` scorer's per-pixel
field, and a tile scorer's block field from random tile similarities) it
times, in the same run and alternating:

- ``native``: ``pipeline.apply_profile`` with the native profile (σ
  interpolation to pixels, the seam-free varying Gaussian, rounding);
- ``block loop``: the reference's per-block loop (benchmarks/reference_loop.py)
  on the working-grid image it needs, prepared outside the timing; also
  with each block's kernel sized to 3σ as native's is (information only);
- ``full blur``: one full-image separable Gaussian at σ_max = 10 with
  pgpcodec's own blur (same engine as native) and with
  ``scipy.ndimage.gaussian_filter``, each as a float32 result.

Targets (issue #6, item 3): native ≥ 10× faster than the block loop, and at
most 3× one full-image blur, at 1 MP and 12 MP. The full-blur target is
judged against the faster of the two full blurs.

    python benchmarks/bench_filter.py [--sizes 1,4,12,48] [--json out.json]
"""

from __future__ import annotations

import sys

import numpy as np

import common
from reference_loop import block_loop

TARGET_SIZES = (1, 12)


def main() -> int:
    report, args = common.start(__doc__, "bench_filter", "filter speed: native vs reference block loop vs one full-image blur", _extra)
    sizes = [float(s) for s in args.sizes.split(",")]
    for megapixels in sizes:
        if megapixels >= 40 and common.available_memory_bytes() < 8e9:
            print(f"  skipped {megapixels:g} MP: less than 8 GB of memory available")
            continue
        measure_size(report, megapixels, 1 if megapixels >= 40 else args.repeats)
        measure_memory(report, megapixels)
    return report.finish(args.json)


def measure_memory(report: common.Report, megapixels: float) -> None:
    """Memory of the native filter in a fresh process: its own peak allocations (tracemalloc) and the process's peak RSS."""
    child = common.run_child(
        "import common, resource, tracemalloc\n"
        "from pgpcodec.pipeline import PrefilterSettings, apply_profile\n"
        f"width, height = common.photo_size({megapixels})\n"
        "image = common.test_photo(width, height)\n"
        "field = common.tile_field(width, height)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "tracemalloc.start()\n"
        "apply_profile(image, field, PrefilterSettings(profile='native'))\n"
        "peak = tracemalloc.get_traced_memory()[1] / 2**20\n"
        "result = {'before_mb': before, 'image_mb': image.nbytes / 2**20, 'filter_peak_mb': peak}\n"
    )
    report.figure(
        size=f"{megapixels:g}MP", field="tiles", image_mb=child["image_mb"], filter_peak_alloc_mb=child["filter_peak_mb"],
        rss_before_filter_mb=child["before_mb"], peak_rss_mb=child["peak_rss_mb"],
    )


def _extra(parser) -> None:
    parser.add_argument("--sizes", default=",".join(str(s) for s in common.SIZES_MP), help="photo sizes in MP")


def measure_size(report: common.Report, megapixels: float, repeats: int) -> None:
    from scipy.ndimage import gaussian_filter

    from pgpcodec.pipeline import PrefilterSettings, apply_profile, reference_block_sigma
    from pgpcodec.maths import filters
    from pgpcodec.maths import grid as grid_math

    width, height = common.photo_size(megapixels)
    image = common.test_photo(width, height)
    settings = PrefilterSettings(profile="native")
    label = f"{megapixels:g}MP"
    full = {
        "full blur (pgpcodec)": lambda: filters.gaussian_blur(image, common.SIGMA_MAX),
        "full blur (scipy)": lambda: gaussian_filter(
            image, (common.SIGMA_MAX, common.SIGMA_MAX, 0), truncate=3.0, mode="reflect", output=np.float32
        ),
    }
    for field_name, make_field in (("regions", common.regions_field), ("tiles", common.tile_field)):
        field = make_field(width, height)
        block_sigma, grid = reference_block_sigma(field)
        working = grid_math.resize(image, grid.grid_size)
        runs = {
            "native": lambda: apply_profile(image, field, settings),
            "block loop": lambda: block_loop(working, block_sigma, grid.block),
            "block loop, 3σ kernel": lambda: block_loop(working, block_sigma, grid.block, kernel_size=None),
        }
        if field_name == "regions":
            runs.update(full)
        times = common.best_times(runs, repeats)
        if field_name == "regions":
            full_times = {name: times[name] for name in full}
        native, loop = times["native"], times["block loop"]
        blur_name = min(full_times, key=full_times.get)
        report.figure(
            size=label, width=width, height=height, field=field_name, blocks=int(block_sigma.size),
            native_s=native, block_loop_s=loop, block_loop_3sigma_kernel_s=times["block loop, 3σ kernel"],
            **{k.replace(" ", "_"): v for k, v in full_times.items()},
        )
        if megapixels in TARGET_SIZES:
            report.target(
                name=f"filter.native_vs_block_loop.{label}.{field_name}",
                description=f"native filter vs the reference's per-block loop, {label}, {field_name} σ field",
                value=native, unit="s", baseline=loop, baseline_name="block loop",
                ratio=loop / native, limit="speed-up >= 10", passed=loop / native >= 10,
            )
            report.target(
                name=f"filter.native_vs_full_blur.{label}.{field_name}",
                description=f"native filter vs one full-image separable blur at σ_max, {label}, {field_name} σ field",
                value=native, unit="s", baseline=full_times[blur_name], baseline_name=blur_name,
                ratio=native / full_times[blur_name], limit="ratio <= 3", passed=native / full_times[blur_name] <= 3,
            )


if __name__ == "__main__":
    sys.exit(main())
