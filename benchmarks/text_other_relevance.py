"""What the text scorer's ``other_relevance`` costs and buys: the measurement behind its default.

On the dev set's rows that are NOT text rows (the question is not about
printed text), each photo is prefiltered with ``spectral-residual+text``
(saliency plugin, plugins/pgpcodec-saliency) or ``uniform+text`` when the
plugin is missing, for several ``other_relevance`` values, encoded with
JPEG at one quality, and the mean bpp and ROI-PSNR are printed. A value
costs bits where unasked text is kept; the ROI-PSNR says whether the
question's own region gains from it.

    python benchmarks/text_other_relevance.py [--quality 75] [--values 0,0.25,0.5,0.75,1]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", type=int, default=75)
    parser.add_argument("--values", default="0,0.25,0.5,0.75,1")
    args = parser.parse_args()
    from pgpcodec.bench.dataset import load_dataset
    from pgpcodec.bench.metrics import fidelity
    from pgpcodec.imaging import load_image
    from pgpcodec.pipeline import Pipeline
    from pgpcodec.plugins import get_registry

    base = "spectral-residual" if "spectral-residual" in get_registry().names("scorer") else "uniform"
    rows = [row for row in load_dataset("dev").rows if not row.answer_in_image]
    images = {row.image: load_image(row.image)[0] for row in rows}
    print(f"{len(rows)} non-text rows of the dev set; scorer {base}+text; JPEG q{args.quality}")
    plain = Pipeline("uniform", "jpeg", prompt_processor="none")
    bpp = [plain.encode(images[row.image], quality=args.quality, prefilter=False).bpp for row in rows]
    print(f"  plain JPEG                  mean bpp {np.mean(bpp):.4f}")
    for value in (float(v) for v in args.values.split(",")):
        pipeline = Pipeline(f"{base}+text", "jpeg", scorer_options={"text.other_relevance": value})
        bpps, psnrs = [], []
        for row in rows:
            image = images[row.image]
            encoded = pipeline.encode(image, row.prompt, quality=args.quality, regions=row.regions)
            decoded = pipeline.decode(encoded.data)
            bpps.append(encoded.bpp)
            psnrs.append(fidelity(image, decoded, row.regions)["roi_psnr"])
        print(f"  other_relevance {value:<5g}       mean bpp {np.mean(bpps):.4f}  mean ROI-PSNR {np.mean(psnrs):.3f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
