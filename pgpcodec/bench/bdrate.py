"""Rate–metric curves and Bjøntegaard-delta rates (the ``bjontegaard`` package, pchip).

A curve point is one (variant, codec, quality): its bpp and metrics are
means over every manifest row. The BD-rate of a variant is the average
bitrate change against the plain codec at equal evaluator score (ROI-PSNR
or accuracy), over the score range both curves cover: −30 % means 30 %
fewer bits for the same score.

A VLM's accuracy is not monotone in bpp (in the paper's raw results 14 of
24 curve pairs dip somewhere), so every curve is first reduced to its
monotone upper envelope, and the points left out are reported.
:func:`bd_rate` is the one BD-rate function: ``pgpcodec bench``, ``pgpcodec
bdrate`` and other bench code call it.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..extras import require

PACKAGES = {"bjontegaard": "bjontegaard", "matplotlib": "matplotlib"}
"""What BD-rates and their plots run on (import name: pip name), the ``bench`` extra."""
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
    context_psnr: float | None = None
    """Mean PSNR outside the regions at the VLM's scale (:func:`~pgpcodec.bench.metrics.context_psnr`)."""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BdRate:
    value: float | None
    """Percent bitrate change at equal score; None when it cannot be computed."""
    note: str = ""
    dropped: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    """(bpp, score) points left out of each curve's monotone upper envelope: keys ``anchor``, ``test``."""

    def to_dict(self) -> dict:
        return {
            "bd_rate_percent": self.value,
            "note": self.note,
            "dropped": {side: [{"bpp": b, "score": s} for b, s in points] for side, points in self.dropped.items()},
        }

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
        context = [r["context_psnr"] for r in items if r.get("context_psnr") is not None]
        out[(variant, codec)].append(
            Point(
                quality=quality,
                rows=len(items),
                bpp=_mean([r["bpp"] for r in items]),
                score=_mean([r["score"] for r in items]),
                psnr=_mean([r["psnr"] for r in items]),
                roi_psnr=_mean([r["roi_psnr"] for r in items]),
                outside_psnr=_mean(outside),
                context_psnr=_mean(context),
            )
        )
    return {key: sorted(points, key=lambda p: p.bpp) for key, points in out.items()}


def _pair(point) -> tuple[float, float]:
    if isinstance(point, (tuple, list)):
        bpp, score = point
    else:
        bpp, score = point.bpp, point.score
    return float(bpp), float(score)


def envelope(points: Sequence) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """A curve's monotone upper envelope: (kept, dropped) (bpp, score) pairs, by rising bpp.

    A point is kept when its score is above the score of every point with
    a lower bpp (at equal bpp only the best score counts), so the kept
    scores rise strictly with bpp, as pchip needs. ``points`` are
    :class:`Point` objects or (bpp, score) pairs.
    """
    ordered = sorted((_pair(p) for p in points), key=lambda p: (p[0], -p[1]))
    kept: list[tuple[float, float]] = []
    dropped: list[tuple[float, float]] = []
    for bpp, score in ordered:
        if kept and (score <= kept[-1][1] or bpp == kept[-1][0]):
            dropped.append((bpp, score))
        else:
            kept.append((bpp, score))
    return kept, dropped


def _left_out(label: str, points: list[tuple[float, float]]) -> str:
    shown = ", ".join(f"{bpp:.4g} bpp: {score:.4g}" for bpp, score in points)
    return f"{label} curve's score falls as bpp rises; envelope leaves out {len(points)} point(s) ({shown})"


def bd_rate(anchor: Sequence, test: Sequence) -> BdRate:
    """BD-rate (%) of ``test`` against ``anchor`` at equal score: ``bjontegaard``'s pchip
    over each curve's monotone upper envelope (:func:`envelope`).

    ``anchor`` and ``test`` are :class:`Point` objects or (bpp, score) pairs in
    any order. Points left out of an envelope are listed in ``dropped`` and
    the note. The value is None, with the reason, when an envelope has
    fewer than 2 points or the score ranges do not overlap.
    """
    require(PACKAGES, "bench", "BD-rates")
    from bjontegaard import bd_rate as bjontegaard_bd_rate

    (a, a_dropped), (t, t_dropped) = envelope(anchor), envelope(test)
    dropped = {side: tuple(points) for side, points in (("anchor", a_dropped), ("test", t_dropped)) if points}
    notes = [_left_out(label, points) for label, points in (("anchor", a_dropped), ("test", t_dropped)) if points]
    for label, kept, given in (("anchor", a, anchor), ("test", t, test)):
        if len(kept) < 2:
            reason = f"{label} curve has {len(given)} point(s), needs 2 or more"
            if len(given) >= 2:
                reason = f"{label} curve's envelope keeps {len(kept)} of {len(given)} points, needs 2 or more"
            return BdRate(None, "; ".join([reason, *notes]), dropped)
    low = max(a[0][1], t[0][1])
    high = min(a[-1][1], t[-1][1])
    if high <= low:
        return BdRate(None, "; ".join(["score ranges do not overlap", *notes]), dropped)
    overlap = (high - low) / (max(a[-1][1], t[-1][1]) - min(a[0][1], t[0][1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = bjontegaard_bd_rate(
            [p[0] for p in a], [p[1] for p in a], [p[0] for p in t], [p[1] for p in t],
            method="pchip", require_matching_points=False, min_overlap=0,
        )
    if not math.isfinite(value):
        return BdRate(None, "; ".join(["not finite", *notes]), dropped)
    if overlap < LOW_OVERLAP:
        notes.insert(0, f"score ranges overlap only {overlap:.0%}")
    return BdRate(float(value), "; ".join(notes), dropped)


def mean_context(points: dict[tuple[str, str], list[Point]], variant: str, codec: str) -> float | None:
    """Mean context PSNR (dB) over a curve's points; None without one."""
    return _mean([p.context_psnr for p in points.get((variant, codec), []) if p.context_psnr is not None])


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


POINT_COLUMNS = ("curve", "bpp", "score")


@dataclass(frozen=True)
class PointTable:
    """Rate–metric points read by :func:`read_points`: ``curves[group][curve]`` = (bpp, score) pairs.

    ``group_columns`` are the columns other than curve, bpp and score, in
    file order; a group is one tuple of their values (``()`` without any).
    """

    group_columns: tuple[str, ...]
    curves: dict[tuple[str, ...], dict[str, list[tuple[float, float]]]]

    def curve_names(self) -> list[str]:
        return sorted({name for by_curve in self.curves.values() for name in by_curve})


def _records(path) -> tuple[list[str], list[tuple[int, dict]]]:
    """(columns, [(line number, row)]) from a CSV or JSONL file; JSONL when the name ends .jsonl/.json or the text starts with '{'."""
    import csv
    import json
    from pathlib import Path

    from ..errors import InputError

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson") or text.lstrip().startswith("{"):
        columns: list[str] = []
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}, line {number}: not JSON ({exc.msg})", "write one JSON object per line") from None
            if not isinstance(row, dict):
                raise InputError(f"{path}, line {number}: a JSON {type(row).__name__}, not an object", "write one JSON object per line")
            columns += [key for key in row if key not in columns]
            rows.append((number, row))
        return columns, rows
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip() for c in reader.fieldnames or []]
    rows = []
    for row in reader:
        rows.append((reader.line_num, {k.strip(): v for k, v in row.items() if k is not None}))
    return columns, rows


def _number(value, path, number: int, column: str) -> float:
    from ..errors import InputError

    try:
        result = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        result = float("nan")
    if not math.isfinite(result):
        raise InputError(f"{path}, line {number}: {column} {value!r} is not a finite number")
    return result


def read_points(path) -> PointTable:
    """Points for ``pgpcodec bdrate`` from a CSV or JSONL file with the columns curve, bpp and score.

    Every other column is a group (dataset, model, …): BD-rates are taken
    per group and averaged. Errors name the line or the column.
    """
    from ..errors import InputError

    columns, rows = _records(path)
    if not rows:
        raise InputError(f"{path} has no points", "give rows with the columns curve, bpp and score")
    missing = [c for c in POINT_COLUMNS if c not in columns]
    if missing:
        raise InputError(
            f"{path} has no column {', '.join(repr(c) for c in missing)}",
            f"the columns are curve, bpp, score and any group columns; found: {', '.join(columns) or 'none'}",
        )
    groups = tuple(c for c in columns if c not in POINT_COLUMNS)
    curves: dict[tuple[str, ...], dict[str, list[tuple[float, float]]]] = {}
    for number, row in rows:
        name = str(row.get("curve") if row.get("curve") is not None else "").strip()
        if not name:
            raise InputError(f"{path}, line {number}: the curve name is empty")
        point = (_number(row.get("bpp"), path, number, "bpp"), _number(row.get("score"), path, number, "score"))
        if point[0] < 0:
            raise InputError(f"{path}, line {number}: bpp {point[0]:g} is negative")
        key = tuple("" if row.get(c) is None else str(row.get(c)) for c in groups)
        curves.setdefault(key, {}).setdefault(name, []).append(point)
    return PointTable(groups, curves)


def parse_pairs(text: str, known: list[str]) -> list[tuple[str, str]]:
    """``ANCHOR:TEST,...`` → [(anchor, test)]; names must be curves of the points."""
    from ..errors import SettingError

    pairs = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        anchor, sep, test = (s.strip() for s in part.partition(":"))
        if not sep or not anchor or not test:
            raise SettingError("pairs", f"{part!r} is not ANCHOR:TEST", "write e.g. plain-JPEG:pgp-JPEG,plain-HEVC:pgp-HEVC")
        for name in (anchor, test):
            if name not in known:
                raise SettingError("pairs", f"names curve {name!r}, which is not in the points", f"curves: {', '.join(known)}")
        pairs.append((anchor, test))
    if not pairs:
        raise SettingError("pairs", "is empty", "write e.g. plain-JPEG:pgp-JPEG")
    return pairs


@dataclass(frozen=True)
class PairResult:
    """BD-rates of one ANCHOR:TEST pair: per group, and their mean over the groups that have one."""

    anchor: str
    test: str
    groups: dict[tuple[str, ...], BdRate]

    @property
    def mean(self) -> float | None:
        return _mean([r.value for r in self.groups.values() if r.value is not None])

    def mean_note(self) -> str:
        counted = sum(1 for r in self.groups.values() if r.value is not None)
        return "" if counted == len(self.groups) else f"mean over {counted} of {len(self.groups)} groups"

    def to_dict(self, group_columns: tuple[str, ...]) -> dict:
        return {
            "anchor": self.anchor,
            "test": self.test,
            "groups": [{**dict(zip(group_columns, key)), **result.to_dict()} for key, result in self.groups.items()],
            "mean_bd_rate_percent": self.mean,
            "mean_note": self.mean_note(),
        }


def pair_rates(table: PointTable, pairs: list[tuple[str, str]]) -> list[PairResult]:
    """:func:`bd_rate` of every pair in every group of ``table``."""
    results = []
    for anchor, test in pairs:
        groups = {
            key: bd_rate(by_curve.get(anchor, []), by_curve.get(test, []))
            for key, by_curve in table.curves.items()
            if anchor in by_curve or test in by_curve
        }
        results.append(PairResult(anchor, test, groups))
    return results
