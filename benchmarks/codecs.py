"""Every codec on a ~1 MP photo: bpp, PSNR and encode/decode seconds at three settings,
without and with the prompt-guided prefilter (regions scorer, the cup of coffee).

    .venv/bin/python benchmarks/codecs.py                  # all registered codecs
    .venv/bin/python benchmarks/codecs.py --codecs jpeg,vvenc
    .venv/bin/python benchmarks/codecs.py --codecs cheng2020 --scale 1   # 0.24 MP: cheng2020 is slow on CPU

The "size vs plain" column is the prefiltered file's size over the plain file's at
the same setting, both measured in this run. cheng2020 runs with RANDOM weights
unless --cheng2020-pretrained is given (no pretrained weights are obtainable
offline): its bpp and PSNR then say nothing about the real codec, only its
timings are meaningful.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from pgpcodec.pipeline import Pipeline
from pgpcodec.plugins import get_registry
from pgpcodec.testing.codec_contract import psnr

# A CC0 photo of the built-in dev set (pgpcodec/data/dev/LICENSES.md).
PHOTO = Path(__file__).parent.parent / "pgpcodec" / "data" / "dev" / "images" / "coffee.png"
SCALE = 2
PROMPT = "What drink is in the cup?"
CUP = (200, 92, 374, 196)  # the cup in the 600x400 photo, annotated by hand for this benchmark (CC0)
SETTINGS = {
    "jpeg": (30, 60, 90),
    "webp": (30, 60, 90),
    "avif": (30, 50, 70),
    "heic": (30, 50, 70),
    "vvenc": (42, 32, 22),
    "cheng2020": (1, 3, 6),
}


def settings_for(codec) -> tuple[int, ...]:
    """Three settings from worst to best: the table above, else the quartiles of the range."""
    if codec.name in SETTINGS:
        return SETTINGS[codec.name]
    ladder = codec.qualities_worst_to_best()
    return tuple(ladder[round(i * (len(ladder) - 1) / 4)] for i in (1, 2, 3))


def load_photo(scale: int = SCALE) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    with Image.open(PHOTO) as img:
        big = img.convert("RGB").resize((img.width * scale, img.height * scale), Image.Resampling.BICUBIC)
    return np.asarray(big), tuple(v * scale for v in CUP)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codecs", default=None, help="comma-separated codec names (default: all registered)")
    parser.add_argument("--scale", type=int, default=SCALE, help="upscale factor of the 600x400 photo (default 2: 0.96 MP)")
    parser.add_argument("--cheng2020-pretrained", action="store_true", help="use the CompressAI zoo weights")
    args = parser.parse_args(argv)

    image, cup = load_photo(args.scale)
    x0, y0, x1, y1 = cup
    height, width = image.shape[:2]
    names = args.codecs.split(",") if args.codecs else get_registry().names("codec")
    print(f"photo: {PHOTO.name} upscaled x{args.scale} to {width}x{height} ({width * height / 1e6:.2f} MP); "
          f"prefilter: regions scorer, cup {cup}")
    header = f"{'codec':<22}{'setting':>8} {'prefilter':>9} {'bytes':>9} {'bpp':>7} {'PSNR':>6} {'cup PSNR':>8} " \
             f"{'size vs plain':>13} {'prefilter s':>11} {'encode s':>9} {'decode s':>9}"
    print(header)
    print("-" * len(header))
    for name in names:
        options = {}
        label = name
        if name == "cheng2020" and not args.cheng2020_pretrained:
            options, label = {"pretrained": False}, "cheng2020 RANDOM wts"
        try:
            pipe = Pipeline(scorer="regions", codec=name, prompt_processor="none", codec_options=options)
        except Exception as exc:  # report and go on: one missing codec must not hide the rest
            print(f"{label:<22} unavailable: {exc}")
            continue
        filtered = pipe.prefilter(image, PROMPT, regions=[cup])
        for setting in settings_for(pipe.codec):
            plain_bytes = None
            for prefilter in (False, True):
                encoded = pipe.encode_filtered(filtered, setting) if prefilter else pipe.encode(image, quality=setting, prefilter=False)
                decoded, encoded = pipe.decode_timed(encoded)
                ratio = "" if plain_bytes is None else f"{len(encoded.data) / plain_bytes:.3f}"
                plain_bytes = plain_bytes or len(encoded.data)
                t = encoded.timings
                print(f"{label:<22}{setting:>8} {'yes' if prefilter else 'no':>9} {len(encoded.data):>9,} {encoded.bpp:>7.3f} "
                      f"{psnr(decoded, image):>6.2f} {psnr(decoded[y0:y1, x0:x1], image[y0:y1, x0:x1]):>8.2f} "
                      f"{ratio:>13} {t['prefilter']:>11.3f} {t['encode']:>9.3f} {t['decode']:>9.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
