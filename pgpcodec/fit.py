"""Fit an image to what a vision-language model will see, before scoring and encoding.

Every VLM resizes an upload to its own input size. Bits spent on pixels the
model's resize throws away buy nothing, so ``--fit TARGET`` downsizes first
(an anti-aliased Pillow downscale), then the prefilter scores, blurs and the
codec encodes at that size. σ keeps its meaning in the pixels the VLM sees.

A target is a named model family, whose rule comes from the provider's own
documentation or processor source (docs/fit.md cites each one), or a plain
bound: ``max-side:N`` or ``max-pixels:N``. Rules are pure functions
``(width, height) -> (width, height)``. The named ones are plugins, like
codecs: the built-in table is the ``pgpcodec_fit_targets`` plugin
(``BUILTIN_RULES`` there), and others add more through the
``register_fit_targets`` hook::

    @hookimpl
    def register_fit_targets(register):
        register("mymodel", lambda: FitRule("mymodel", "...", view=my_resize))

A fit never upscales: when a rule would enlarge an axis, that axis keeps its
size, and a note says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import SettingError, UsageError
from .interfaces import Box

if TYPE_CHECKING:
    import numpy as np

Size = tuple[int, int]
"""(width, height) in pixels."""
MIN_TILE = 224
"""``max-pixels`` below one 224 × 224 tile leaves nothing a VLM can look at."""
BOUND_KINDS = ("max-side", "max-pixels")


@dataclass(frozen=True)
class FitRule:
    """One target: ``view`` is the provider's own resize, ``send`` the size pgpcodec sends.

    ``send`` defaults to ``view``. It differs only for rules whose view
    stretches the image (InternVL's tile grid): pgpcodec keeps the aspect
    ratio and sends the smallest size whose stretch to the view never
    enlarges an axis.
    """

    name: str
    description: str
    view: Callable[[int, int], Size]
    send: Callable[[int, int], Size] | None = None
    source: str = ""
    settings: dict = field(default_factory=dict)

    def view_size(self, width: int, height: int) -> Size:
        """The size the model's own processor resizes a ``width`` × ``height`` image to."""
        return _checked(self.name, self.view(width, height))

    def fitted_size(self, width: int, height: int) -> tuple[Size, bool]:
        """(size to send, whether the rule wanted to upscale an axis that was kept)."""
        wanted = _checked(self.name, (self.send or self.view)(width, height))
        fitted = (min(wanted[0], width), min(wanted[1], height))
        return fitted, fitted != wanted


def _checked(name: str, size) -> Size:
    width, height = (int(v) for v in size)
    if width < 1 or height < 1:
        raise UsageError(f"fit target {name!r} gave the size {width}x{height}")
    return width, height


# -- the rules: pure functions (width, height) -> (width, height) ------------


def scale_to(width: int, height: int, scale: float) -> Size:
    """Both sides times ``scale``, rounded, at least 1 pixel."""
    return max(1, round(width * scale)), max(1, round(height * scale))


def max_side(width: int, height: int, limit: int) -> Size:
    """Longest side at most ``limit``, aspect ratio kept."""
    longest = max(width, height)
    return (width, height) if longest <= limit else scale_to(width, height, limit / longest)


def max_pixels(width: int, height: int, limit: int) -> Size:
    """At most ``limit`` pixels, aspect ratio kept (sides rounded down so the bound holds)."""
    if width * height <= limit:
        return width, height
    scale = math.sqrt(limit / (width * height))
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


# -- targets -------------------------------------------------------------------


def bound_rule(kind: str, text: str) -> FitRule:
    """``max-side:N`` or ``max-pixels:N`` as a rule; one clear error for a bad N."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if kind == "max-side":
        if value is None or value < 1:
            raise SettingError("fit", f"max-side:{text}: the side must be a whole number of pixels >= 1", "e.g. max-side:1568")
        return FitRule(f"max-side:{value}", f"longest side at most {value} px", lambda w, h: max_side(w, h, value))
    if value is None or value < MIN_TILE * MIN_TILE:
        raise SettingError(
            "fit",
            f"max-pixels:{text}: needs a whole number of at least {MIN_TILE * MIN_TILE:,} pixels (one {MIN_TILE}-px tile)",
            "e.g. max-pixels:1003520",
        )
    return FitRule(f"max-pixels:{value}", f"at most {value:,} pixels", lambda w, h: max_pixels(w, h, value))


def resolve(target: str | FitRule | None, registry=None) -> FitRule | None:
    """A target name, ``max-side:N``, ``max-pixels:N`` or a :class:`FitRule`, as a rule."""
    if target is None or isinstance(target, FitRule):
        return target
    if not isinstance(target, str) or not target.strip():
        raise UsageError(f"fit target must be a name or max-side:N / max-pixels:N, got {target!r}", parameter="fit")
    text = target.strip()
    kind, sep, argument = text.partition(":")
    if sep and kind in BOUND_KINDS:
        return bound_rule(kind, argument.strip())
    from .errors import UnknownPluginError
    from .plugins import get_registry

    registry = registry or get_registry()
    try:
        rule = registry.create("fit_target", text)
    except UnknownPluginError:
        known = ", ".join(registry.names("fit_target"))
        raise UsageError(f"unknown fit target {text!r}", f"known targets: {known}; or max-side:N, max-pixels:N", parameter="fit") from None
    if not isinstance(rule, FitRule):
        raise UsageError(f"fit target {text!r} is not a FitRule (its plugin returned {type(rule).__name__})", parameter="fit")
    return rule


# -- applying a fit --------------------------------------------------------------


def downscale(image: np.ndarray, size: Size) -> np.ndarray:
    """Anti-aliased downscale of an (H, W, 3) uint8 image to ``size`` = (width, height).

    Pillow's Lanczos resample with ``reducing_gap=3``: first an integer box
    reduction (``Image.reduce``), then Lanczos for the rest, which Pillow
    documents as indistinguishable from a full Lanczos resample.
    """
    from .maths.grid import resize

    return resize(image, size, "lanczos", reducing_gap=3.0)


def map_box(box: Box, original: Size, fitted: Size) -> Box:
    """A region in original pixels mapped to the fitted image, covering at least one pixel."""
    (width, height), (fw, fh) = original, fitted
    sx, sy = fw / width, fh / height
    x0, y0, x1, y1 = box
    nx0 = min(max(0, math.floor(x0 * sx)), fw - 1)
    ny0 = min(max(0, math.floor(y0 * sy)), fh - 1)
    nx1 = max(nx0 + 1, min(fw, math.ceil(x1 * sx)))
    ny1 = max(ny0 + 1, min(fh, math.ceil(y1 * sy)))
    return nx0, ny0, nx1, ny1


@dataclass(frozen=True)
class Fitted:
    image: np.ndarray
    regions: tuple[Box, ...]
    original_size: Size
    fitted_size: Size
    target: str
    notes: tuple[str, ...] = ()


def apply_fit(image: np.ndarray, rule: FitRule, regions: Sequence[Box] = ()) -> Fitted:
    """Downscale ``image`` to the rule's size (never up) and map ``regions`` with it."""
    height, width = image.shape[:2]
    fitted, kept = rule.fitted_size(width, height)
    notes = []
    if kept:
        wanted = (rule.send or rule.view)(width, height)
        notes.append(
            f"fit {rule.name}: the target size {wanted[0]}x{wanted[1]} would upscale, so "
            + ("the image is left as it is" if fitted == (width, height) else f"only the smaller axes were fitted ({fitted[0]}x{fitted[1]})")
        )
    boxes = tuple(map_box(tuple(box), (width, height), fitted) for box in regions) if fitted != (width, height) else tuple(map(tuple, regions))
    return Fitted(downscale(image, fitted), boxes, (width, height), fitted, rule.name, tuple(notes))
