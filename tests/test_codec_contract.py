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

OVERRIDES = {
    "cheng2020": {
        "codec_options": {"pretrained": False, "threads": 1},
        "sizes": tuple((640, 3) if size == (4000, 3) else size for size in SIZES),
    },
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
