"""Rate–metric curves and Bjøntegaard-delta rates (the ``bjontegaard`` package, pchip).

A curve point is one (variant, codec, quality): its bpp and metrics are
means over every manifest row. The BD-rate of a variant is the average
bitrate change against the plain codec at equal evaluator score (ROI-PSNR
or accuracy), over the score range both curves cover: −30 % means 30 %
fewer bits for the same score.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

LOW_OVERLAP = 0.75
"""Below this share of overlapping score range a BD-rate is flagged as an extrapolation risk."""


@dataclass(frozen=True)
class Point:
    quality: float
    rows: int
    bpp: float
    score: float
    psnr: float
    roi_psnr: float
    outside_psnr: float | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BdRate:
    value: float | None
    """Percent bitrate change at equal score; None when it cannot be computed."""
    note: str = ""

    def to_dict(self) -> dict:
        return {"bd_rate_percent": self.value, "note": self.note}

    def cell(self) -> str:
        if self.value is None:
            return "n/a"
        return f"{self.value:+.1f} %" + (" *" if self.note else "")


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def curves(results: Iterable[dict], expected_rows: int | None = None) -> dict[tuple[str, str], list[Point]]:
    """Mean bpp and metrics per (variant, codec) and quality, sorted by bpp.

    With ``expected_rows``, a quality whose rows are not all done (an
    interrupted run) is left out so every point averages the same rows.
    """
    groups: dict[tuple[str, str, float], list[dict]] = defaultdict(list)
    for result in results:
        groups[(result["variant"], result["codec"], float(result["quality"]))].append(result)
    out: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for (variant, codec, quality), items in groups.items():
        if expected_rows is not None and len(items) < expected_rows:
            continue
        outside = [r["outside_psnr"] for r in items if r.get("outside_psnr") is not None]
        out[(variant, codec)].append(
            Point(
                quality=quality,
                rows=len(items),
                bpp=_mean([r["bpp"] for r in items]),
                score=_mean([r["score"] for r in items]),
                psnr=_mean([r["psnr"] for r in items]),
                roi_psnr=_mean([r["roi_psnr"] for r in items]),
                outside_psnr=_mean(outside),
            )
        )
    return {key: sorted(points, key=lambda p: p.bpp) for key, points in out.items()}


def _strictly_increasing(values: list[float]) -> bool:
    return all(b > a for a, b in zip(values, values[1:]))


def bd_rate(anchor: list[Point], test: list[Point]) -> BdRate:
    """BD-rate (%) of ``test`` against ``anchor`` at equal score, with pchip interpolation.

    Needs two or more points per curve with bpp and score both rising
    (pchip interpolates rate as a function of score); otherwise, or when
    the score ranges do not overlap, the value is None with the reason.
    """
    from bjontegaard import bd_rate as bjontegaard_bd_rate

    for label, points in (("plain", anchor), ("variant", test)):
        if len(points) < 2:
            return BdRate(None, f"{label} curve has {len(points)} point(s), needs 2 or more")
        ordered = sorted(points, key=lambda p: p.bpp)
        if not _strictly_increasing([p.score for p in ordered]):
            return BdRate(None, f"{label} curve's score does not rise with bpp")
    a = sorted(anchor, key=lambda p: p.bpp)
    t = sorted(test, key=lambda p: p.bpp)
    low = max(a[0].score, t[0].score)
    high = min(a[-1].score, t[-1].score)
    if high <= low:
        return BdRate(None, "score ranges do not overlap")
    overlap = (high - low) / (max(a[-1].score, t[-1].score) - min(a[0].score, t[0].score))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = bjontegaard_bd_rate(
            [p.bpp for p in a], [p.score for p in a], [p.bpp for p in t], [p.score for p in t],
            method="pchip", require_matching_points=False, min_overlap=0,
        )
    if not math.isfinite(value):
        return BdRate(None, "not finite")
    note = f"score ranges overlap only {overlap:.0%}" if overlap < LOW_OVERLAP else ""
    return BdRate(float(value), note)


def bd_table(points: dict[tuple[str, str], list[Point]], variants: list[str], codecs: list[str], anchor: str = "plain") -> dict[str, dict[str, BdRate]]:
    """Rows = variants other than the anchor, columns = codecs, as in the paper's tables."""
    table: dict[str, dict[str, BdRate]] = {}
    for variant in variants:
        if variant == anchor:
            continue
        table[variant] = {
            codec: bd_rate(points.get((anchor, codec), []), points.get((variant, codec), [])) for codec in codecs
        }
    return table
