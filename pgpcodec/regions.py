"""Regions ``(x0, y0, x1, y1)`` from callers: one parser for the API, the CLI and the sidecar.

A region is four finite numbers in original-image pixels, end exclusive;
fractions are cut toward zero (``10.7`` → ``10``). Regions arrive as text
(``"x0,y0,x1,y1"``, several joined by ``;``), as JSON (``[[x0, y0, x1, y1], …]``)
or, from Python, as a sequence of 4-number sequences. Anything else — NaN,
infinity, ``None``, three numbers, deep nesting, more regions than a limit —
is a :class:`~pgpcodec.errors.SettingError` for ``regions``: the caller's
mistake, reported before any work starts. Whether a box lies inside the image
is the scorer's business (it knows the size).
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Sequence

from .errors import SettingError
from .interfaces import Box

BOX_HINT = "write each region as four finite numbers x0,y0,x1,y1, e.g. 10,20,200,180"


def _shown(value, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _coordinate(value) -> float | None:
    """``value`` as a float if it is a finite real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def as_box(values, shown=None) -> Box:
    """Four finite numbers to an integer box; a :class:`SettingError` naming ``shown`` otherwise."""
    label = _shown(values if shown is None else shown)
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != 4:
        raise SettingError("regions", f"{label} is not four numbers x0,y0,x1,y1", BOX_HINT)
    numbers_ = [_coordinate(v) for v in values]
    if any(n is None for n in numbers_):
        raise SettingError("regions", f"{label} has a coordinate that is not a finite number", BOX_HINT)
    return tuple(int(n) for n in numbers_)  # type: ignore[return-value]


def parse_box(text: str) -> Box:
    """``"x0,y0,x1,y1"`` to a box."""
    parts = str(text).split(",")
    values = []
    for part in parts:
        try:
            values.append(float(part))
        except ValueError:
            values.append(None)
    return as_box(values, shown=text)


def _check_count(count: int, limit: int | None) -> None:
    if limit is not None and count > limit:
        raise SettingError(
            "regions", f"has {count:,} regions, over the limit of {limit:,}", "merge nearby regions into fewer, larger boxes"
        )


def parse_regions(value, *, limit: int | None = None) -> tuple[Box, ...]:
    """Regions from text, JSON text or a sequence of boxes, at most ``limit`` of them.

    The count is checked before any box is converted.
    """
    if value is None:
        return ()
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise SettingError("regions", "is not UTF-8 text", BOX_HINT) from None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ()
        if text.startswith("["):
            try:
                boxes = json.loads(text)
            except RecursionError:
                raise SettingError("regions", "is JSON nested too deeply", "send a flat list of [x0, y0, x1, y1] lists") from None
            except ValueError:
                raise SettingError("regions", f"{_shown(text)} is not valid JSON", "send a list of [x0, y0, x1, y1] lists") from None
            if not isinstance(boxes, list):
                raise SettingError("regions", f"{_shown(text)} is not a list of boxes", "send a list of [x0, y0, x1, y1] lists")
            if boxes and not isinstance(boxes[0], list):
                boxes = [boxes]  # one box, [x0, y0, x1, y1]
        else:
            boxes = [part for part in text.split(";") if part.strip()]
            _check_count(len(boxes), limit)
            return tuple(parse_box(part) for part in boxes)
    elif isinstance(value, Sequence) or hasattr(value, "__len__") and hasattr(value, "__getitem__"):
        boxes = list(value)
    else:
        raise TypeError(f"regions must be a sequence of (x0, y0, x1, y1) boxes or text, got {type(value).__name__}")
    _check_count(len(boxes), limit)
    return tuple(as_box(_listed(box)) for box in boxes)


def _listed(box):
    """A numpy row or tuple as a list, so :func:`as_box` sees a plain sequence."""
    if isinstance(box, (str, bytes)):
        return box
    try:
        return list(box)
    except TypeError:
        return box
