"""The codec contract (pgpcodec.testing.codec_contract) for every registered codec.

cheng2020 runs with random weights (pretrained=False, update(force=True):
real entropy coding, no pretrained weights obtainable here), one torch
thread, and a 640×3 strip instead of 4000×3 (a 4032×64 padded picture takes
about half a minute of CPU; the strip exercises the same padding path).
"""

from __future__ import annotations

import pytest

from pgpcodec.plugins import get_registry
from pgpcodec.testing.codec_contract import SIZES, CodecContractTests

# 12 MP round trips of the slow encoders take 20-80 s each on 2 cores: 3 MP keeps CI inside its budget.
SMALLER_HUGE = {"huge_size": (2000, 1500)}
OVERRIDES = {
    "cheng2020": {
        "codec_options": {"pretrained": False, "threads": 1},
        "sizes": tuple((640, 3) if size == (4000, 3) else size for size in SIZES),
        "huge_size": (256, 192),  # a random-weight learned codec: minutes per MP on 2 cores
    },
    "heic": SMALLER_HUGE,
    "avif": SMALLER_HUGE,
    # VVenC 1.15 (through ffmpeg) fails on noise-like content at high rates (QP below ~20 for the
    # synthetic sample; photos work down to QP 0); docs/codecs.md records the limit.
    "vvenc": {**SMALLER_HUGE, "best_quality": 22},
}


def _has_compressai() -> bool:
    try:
        import compressai  # noqa: F401
    except ImportError:
        return False
    return True


for _name in get_registry().names("codec"):
    _marks = {}
    if _name == "cheng2020" and not _has_compressai():
        _marks["pytestmark"] = pytest.mark.skip(reason="the cheng2020 extra (CompressAI) is not installed")
    _cls = type(
        f"TestContract_{_name}",
        (CodecContractTests,),
        {"codec_name": _name, "expect_all_to_work": True, **OVERRIDES.get(_name, {}), **_marks},
    )
    globals()[_cls.__name__] = _cls
