"""Turn the paper's published raw results into points for ``pgpcodec bdrate``.

The reference repository (github.com/bardia-az/pgp-vlm-compression) publishes
``pgp_vlm_compression/results.json``: run id → dataset → VLM → metrics. This
script writes one CSV row per (run, dataset, VLM) with the columns curve, bpp,
score, dataset, model, where

- curve is ``plain-CODEC`` (``prefilter_0``) or ``pgp-CODEC`` (``prefilter_1``),
  CODEC from the run id: JPEG (``compressformat_JPEG`` or the prefiltered JPEG
  runs' ``tile_resize``), HEVC (``HEIF``), VVC, Cheng2020 (``LIC``);
- bpp is the run's ``compressed_bpp``;
- score is MME's perception + reasoning, else the benchmark's ``Overall``.

The uncompressed run (``compress_0``) is left out. The results file is not
part of pgpcodec: fetch it yourself and pass its path.

    python scripts/paper_points.py results.json > paper-points.csv
    pgpcodec bdrate paper-points.csv --pairs plain-JPEG:pgp-JPEG,plain-HEVC:pgp-HEVC,plain-VVC:pgp-VVC,plain-Cheng2020:pgp-Cheng2020
"""

from __future__ import annotations

import csv
import json
import re
import sys

CODECS = {"JPEG": "JPEG", "HEIF": "HEVC", "VVC": "VVC", "LIC": "Cheng2020"}


def curve_name(run: str) -> str | None:
    if re.search(r"(^|-)compress_0(-|$)", run):
        return None
    prefiltered = re.search(r"(^|-)prefilter_(\d)", run)
    found = re.search(r"compress(?:format|f)_([A-Za-z]+)", run)
    codec = found.group(1) if found else ("JPEG" if "tile_resize" in run else None)
    if prefiltered is None or codec not in CODECS:
        return None
    return ("pgp-" if prefiltered.group(2) == "1" else "plain-") + CODECS[codec]


def score(dataset: str, metrics: dict) -> float | None:
    if dataset == "MME":
        parts = [metrics.get("perception"), metrics.get("reasoning")]
        return None if None in parts else float(sum(parts))
    value = metrics.get("Overall")
    return None if value is None else float(value)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python scripts/paper_points.py RESULTS.json > points.csv", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as handle:
        results = json.load(handle)
    writer = csv.writer(sys.stdout)
    writer.writerow(["curve", "bpp", "score", "dataset", "model"])
    for run, by_dataset in results.items():
        curve = curve_name(run)
        if curve is None:
            continue
        for dataset, by_model in by_dataset.items():
            for model, metrics in by_model.items():
                value = score(dataset, metrics)
                if value is not None and metrics.get("compressed_bpp") is not None:
                    writer.writerow([curve, metrics["compressed_bpp"], value, dataset, model])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
