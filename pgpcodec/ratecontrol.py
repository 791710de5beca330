"""Rate targeting: the best quality setting whose bitstream fits a size cap.

Upload services cap the size of a file; :func:`fit_to_size` finds, for any
codec, the highest-quality setting whose output is at most ``max_bytes``.
It binary-searches :meth:`Codec.qualities_worst_to_best`, assuming size
grows with quality, in O(log n) encodes. The answer never rests on that
assumption: the returned encoding is one that was made and measured to fit.
For a codec whose size is not monotone in quality the answer still fits,
but a better setting might have fitted too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .errors import CodecError, RateTargetError, SettingError, UsageError
from .interfaces import Codec, EncodedImage, Progress


RATE_PARAMETERS = ("quality", "target_bytes", "target_bpp")
"""The three ways to ask for a rate; at most one may be given."""


def check_rate_target(
    quality: float | None, target_bytes: int | None, target_bpp: float | None, *, labels: dict[str, str] | None = None
) -> None:
    """The rate rules every front end shares: at most one of ``quality``, ``target_bytes`` and
    ``target_bpp``, and a target must be positive.

    Errors name the parameters; ``labels`` spells them as a front end does
    (the CLI's ``--target-bytes``).
    """
    label = {name: name for name in RATE_PARAMETERS} | (labels or {})
    if sum(value is not None for value in (quality, target_bytes, target_bpp)) > 1:
        raise UsageError(f"give only one of {label['quality']}, {label['target_bytes']} and {label['target_bpp']}")
    # A bad target is a setting's error: the CLI names it by its flag from the setting (pgpcodec.cli.describe).
    if target_bytes is not None and not target_bytes >= 1:
        raise SettingError("target_bytes", f"must be positive, got {target_bytes}")
    if target_bpp is not None and not (math.isfinite(target_bpp) and target_bpp > 0):
        raise SettingError("target_bpp", f"must be positive, got {target_bpp}")


def bytes_for_bpp(bpp: float, width: int, height: int) -> int:
    """The byte budget that ``bpp`` bits per original pixel allows (rounded down)."""
    check_rate_target(None, None, bpp)
    return int(bpp * width * height // 8)


def search_steps(count: int) -> int:
    """How many encodes :func:`search_best_fit` makes at most over ``count`` settings: the worst, then the bisection."""
    return 1 + math.ceil(math.log2(count)) if count > 1 else 1


def search_best_fit(
    qualities: list[int], encode: Callable[[int], EncodedImage], max_bytes: int, label: str = "quality",
    progress: Progress | None = None,
) -> EncodedImage:
    """The encoding at the best quality (last in ``qualities``, ordered worst to best) with ≤ ``max_bytes``.

    ``encode`` is called O(log n) times (each setting at most once). A
    setting better than the worst at which the codec fails with
    :class:`CodecError` counts as not fitting (VVenC fails on tiny images at
    QPs near 0). Raises :class:`RateTargetError` if even the worst setting
    is too big; a failure at the worst setting is raised as is.
    ``progress("rate search", done, total)`` follows the encodes, ``total`` being :func:`search_steps`.
    """
    if max_bytes < 1:
        raise UsageError(f"the size target must be at least 1 byte, got {max_bytes}")
    cache: dict[int, EncodedImage] = {}
    steps, tried = search_steps(len(qualities)), []

    def size_at(index: int) -> float:
        quality = qualities[index]
        if quality not in cache:
            try:
                cache[quality] = encode(quality)
            except CodecError:
                if index == 0:
                    raise
                return math.inf
            finally:
                tried.append(quality)
                if progress:
                    progress("rate search", min(len(tried), steps - 1), steps)
        return len(cache[quality].data)

    if size_at(0) > max_bytes:
        smallest = cache[qualities[0]]
        raise RateTargetError(
            f"even the lowest quality ({smallest.codec} {label} {qualities[0]}) gives {len(smallest.data):,} bytes, "
            f"over the target of {max_bytes:,}",
            f"allow at least {len(smallest.data):,} bytes, or make the image smaller",
        )
    low, high = 0, len(qualities) - 1  # invariant: qualities[low] fits
    while low < high:
        middle = (low + high + 1) // 2
        if size_at(middle) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    if progress:
        progress("rate search", steps, steps)
    return cache[qualities[low]]


def fit_to_size(codec: Codec, image: np.ndarray, max_bytes: int, *, progress: Progress | None = None) -> EncodedImage:
    """Encode ``image`` with ``codec`` at the best quality whose output is at most ``max_bytes``.

    ``timings["encode"]`` is the chosen encode's time; ``timings["rate_search"]``
    the whole search's, trial encodes included. ``progress`` (default: the
    codec's own ``progress`` callback) hears of each trial encode.
    """
    start = time.perf_counter()
    progress = progress or codec.progress
    qualities = codec.qualities_worst_to_best()
    best = search_best_fit(qualities, lambda q: codec.encode(image, q), max_bytes, codec.quality_label, progress)
    return replace(best, timings={**best.timings, "rate_search": time.perf_counter() - start})
