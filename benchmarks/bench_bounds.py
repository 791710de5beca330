"""What the settings' upper bounds cost: time and peak traced memory of the filter at each bound,
against the default setting in the same run, and the folded kernel's memory at a huge σ.

- native profile, 1 MP photo, σ_max 10 (σ_1 = σ_max: every pixel blurred) vs σ_max 100 (the bound);
- reference profile, 1 MP photo, kernel 11 vs kernel 255 (the bound);
- the native filter on a 96 × 64 image at σ 30 vs σ 2000 (beyond the bound, called directly):
  a kernel wider than the image is folded onto it, so memory follows the image, not σ;
- ``load_image`` of a 30 000-page 1 × 1 TIFF vs a one-page one (frames are not walked to be counted).

Peak memory is ``tracemalloc``'s (numpy's arrays included), per case.

    python benchmarks/bench_bounds.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import struct
import time
import tracemalloc

import numpy as np

import common


def measure(run, repeats: int) -> tuple[float, int]:
    """Best wall time over ``repeats`` runs and the peak traced bytes of one run."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    try:
        run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return best, peak


def pages_tiff(pages: int) -> bytes:
    """A little-endian TIFF of ``pages`` uncompressed 1 × 1 RGB pages, written directly (Pillow's save_all is slow at this count)."""
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    link = 4  # where the offset of the next IFD goes
    for _ in range(pages):
        pixel = len(out)
        out += bytes([10, 20, 30, 0])
        bits = len(out)
        out += struct.pack("<HHHH", 8, 8, 8, 0)
        struct.pack_into("<I", out, link, len(out))
        entries = [(256, 4, 1), (257, 4, 1), (258, 3, bits), (259, 3, 1), (262, 3, 2), (273, 4, pixel), (277, 3, 3), (278, 4, 1), (279, 4, 3)]
        out += struct.pack("<H", len(entries))
        for tag, kind, value in entries:
            count = 3 if tag == 258 else 1
            field_ = struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
            out += struct.pack("<HHI", tag, kind, count) + field_
        link = len(out)
        out += b"\x00\x00\x00\x00"
    return bytes(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    from pgpcodec.pipeline import KERNEL_SIZE_LIMIT, SIGMA_MAX_LIMIT, Pipeline, PrefilterSettings
    from pgpcodec.maths import filters

    photo = common.test_photo(*common.photo_size(1))
    print(f"photo {photo.shape[1]}x{photo.shape[0]}, repeats {args.repeats}")
    cases = [
        ("native sigma_max", "native", 11, 10.0),
        ("native sigma_max", "native", 11, SIGMA_MAX_LIMIT),
        ("reference kernel_size", "reference", 11, 10.0),
        ("reference kernel_size", "reference", KERNEL_SIZE_LIMIT, 10.0),
    ]
    rows = []
    for label, profile, kernel, sigma in cases:
        settings = PrefilterSettings(profile=profile, kernel_size=kernel, sigma_max=sigma, sigma_one=sigma)
        pipeline = Pipeline(scorer="uniform", codec="jpeg", prompt_processor="none", settings=settings)
        seconds, peak = measure(lambda: pipeline.prefilter(photo), args.repeats)
        value = kernel if profile == "reference" else sigma
        rows.append((label, value, seconds, peak))
        print(f"  {label} {value:g}: {seconds:.3f} s, peak {peak / 2**20:.1f} MiB", flush=True)
    for (label, base_value, base_s, base_peak), (_, value, s, peak) in ((rows[0], rows[1]), (rows[2], rows[3])):
        print(f"{label} {value:g} vs {base_value:g}: time x{s / base_s:.1f}, peak memory x{peak / base_peak:.2f}")

    small = np.random.default_rng(0).integers(0, 256, size=(64, 96, 3), dtype=np.uint8)
    peaks = {}
    for sigma in (30.0, 2000.0):
        field = np.full(small.shape[:2], sigma, dtype=np.float32)
        seconds, peaks[sigma] = measure(lambda: filters.varying_gaussian(small, field), args.repeats)
        print(f"  native filter 96x64 at sigma {sigma:g}: {seconds:.4f} s, peak {peaks[sigma] / 2**20:.2f} MiB", flush=True)
    print(f"96x64 at sigma 2000 vs 30: peak memory x{peaks[2000.0] / peaks[30.0]:.2f} (unfolded, sigma 2000 needed 1.7 GB)")

    from pgpcodec.imaging import load_image

    times = {}
    for pages in (1, 30_000):
        data = pages_tiff(pages)
        times[pages], _ = measure(lambda: load_image(data), args.repeats)
        print(f"  load_image of a {pages:,}-page 1x1 TIFF ({len(data):,} bytes): {times[pages]:.4f} s", flush=True)
    print(f"30,000-page TIFF vs one page: time x{times[30_000] / times[1]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
