"""Fit an image to what a vision-language model will see, before scoring and encoding.

Every VLM resizes an upload to its own input size. Bits spent on pixels the
model's resize throws away buy nothing, so ``--fit TARGET`` downsizes first
(an anti-aliased Pillow downscale), then the prefilter scores, blurs and the
codec encodes at that size. σ keeps its meaning in the pixels the VLM sees.

A target is a named model family, whose rule comes from the provider's own
documentation or processor source (docs/fit.md cites each one), or a plain
bound: ``max-side:N`` or ``max-pixels:N``. Rules are pure functions
``(width, height) -> (width, height)`` in one table, :data:`BUILTIN_RULES`;
plugins add more through the ``register_fit_targets`` hook::

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
from .hookspecs import hookimpl
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


def qwen_smart_resize(
    width: int, height: int, factor: int = 28, min_pixels: int = 56 * 56, max_pixels: int = 28 * 28 * 1280
) -> Size:
    """Qwen2-VL / Qwen2.5-VL ``smart_resize``: sides multiples of ``factor``, pixels within bounds.

    The processor refuses sides under 10 px and aspect ratios over 200; those
    images are returned as they are (the model would not take them anyway).
    """
    if min(width, height) < 10 or max(width, height) / min(width, height) > 200:
        return width, height
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return w_bar, h_bar


def openai_high_detail(width: int, height: int) -> Size:
    """GPT-4o-class ``detail: high``: fit in 2048 × 2048, then shortest side 768 (downscale only)."""
    if max(width, height) > 2048:
        width, height = scale_to(width, height, 2048 / max(width, height))
    if min(width, height) > 768:
        width, height = scale_to(width, height, 768 / min(width, height))
    return width, height


def claude_standard(width: int, height: int, long_edge: int = 1568, token_budget: int = 1568, patch: int = 28) -> Size:
    """Claude (standard resolution tier): the largest aspect-preserving size with the long
    edge at most ``long_edge`` and ⌈w/28⌉·⌈h/28⌉ visual tokens at most ``token_budget``."""
    longest, shortest = max(width, height), min(width, height)
    for side in range(min(longest, long_edge), 0, -1):
        other = max(1, round(shortest * side / longest)) if side != longest else shortest
        if math.ceil(side / patch) * math.ceil(other / patch) <= token_budget:
            return (side, other) if width >= height else (other, side)
    return 1, 1


def internvl_grid(width: int, height: int, image_size: int = 448, min_num: int = 1, max_num: int = 12) -> tuple[int, int]:
    """InternVL ``dynamic_preprocess``: the (columns, rows) tile grid chosen for an image."""
    aspect = width / height
    ratios = sorted(
        {(i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1) if min_num <= i * j <= max_num},
        key=lambda r: r[0] * r[1],
    )
    best, best_diff, area = (1, 1), float("inf"), width * height
    for ratio in ratios:
        diff = abs(aspect - ratio[0] / ratio[1])
        if diff < best_diff:
            best, best_diff = ratio, diff
        elif diff == best_diff and area > 0.5 * image_size * image_size * ratio[0] * ratio[1]:
            best = ratio
    return best


def internvl_view(width: int, height: int, image_size: int = 448, max_num: int = 12) -> Size:
    """The size InternVL stretches an image to: its tile grid times 448 px."""
    cols, rows = internvl_grid(width, height, image_size, max_num=max_num)
    return cols * image_size, rows * image_size


def internvl_send(width: int, height: int, image_size: int = 448, max_num: int = 12) -> Size:
    """Aspect kept, the smallest size that still covers InternVL's grid on both axes."""
    view = internvl_view(width, height, image_size, max_num)
    scale = max(view[0] / width, view[1] / height)
    send_w, send_h = max(view[0], math.ceil(width * scale - 1e-9)), max(view[1], math.ceil(height * scale - 1e-9))
    # Rounding moves the aspect ratio a little; near a tie between two grids it can flip the
    # grid, so try one pixel more, and else send the grid size itself (the model's own stretch).
    for candidate in ((send_w, send_h), (send_w + (send_w > view[0]), send_h + (send_h > view[1]))):
        if scale > 1 or internvl_view(*candidate, image_size, max_num) == view:
            return candidate
    return view


LLAVA_ONEVISION_PINPOINTS = tuple((384 * i, 384 * j) for i in range(1, 7) for j in range(1, 7))
"""(height, width) pairs: the processor's default ``image_grid_pinpoints``, 384 to 2304 px."""


def llava_best_resolution(width: int, height: int, pinpoints: Sequence[tuple[int, int]] = LLAVA_ONEVISION_PINPOINTS) -> tuple[int, int]:
    """transformers' ``select_best_resolution``: the (height, width) pinpoint with the most
    effective pixels, then the least waste."""
    best, best_effective, best_waste = pinpoints[0], 0, float("inf")
    for pin_h, pin_w in pinpoints:
        scale = min(pin_w / width, pin_h / height)
        effective = min(int(width * scale) * int(height * scale), width * height)
        waste = pin_w * pin_h - effective
        if effective > best_effective or (effective == best_effective and waste < best_waste):
            best, best_effective, best_waste = (pin_h, pin_w), effective, waste
    return best


def llava_onevision_view(width: int, height: int) -> Size:
    """LLaVA-OneVision anyres: the image inside the best pinpoint, aspect kept
    (``get_patch_output_size``); the padding around it carries no pixels."""
    pin_h, pin_w = llava_best_resolution(width, height)
    scale_w, scale_h = pin_w / width, pin_h / height
    if scale_w < scale_h:
        return pin_w, min(math.ceil(height * scale_w), pin_h)
    return min(math.ceil(width * scale_h), pin_w), pin_h


BUILTIN_RULES: dict[str, FitRule] = {
    rule.name: rule
    for rule in (
        FitRule(
            "gpt-4o",
            "OpenAI GPT-4o-class models, detail: high (2048 box, then shortest side 768)",
            openai_high_detail,
            source="OpenAI vision guide, 'Calculating costs'",
        ),
        FitRule(
            "claude",
            "Anthropic Claude, standard resolution tier (long edge 1568, 1568 visual tokens of 28 px)",
            claude_standard,
            source="Anthropic docs, Vision and 'Coordinates and bounding boxes'",
        ),
        FitRule(
            "qwen2.5-vl",
            "Qwen2-VL / Qwen2.5-VL processor smart_resize (multiples of 28, max_pixels 1,003,520)",
            qwen_smart_resize,
            source="transformers Qwen2VLImageProcessor.smart_resize",
            settings={"factor": 28, "min_pixels": 56 * 56, "max_pixels": 28 * 28 * 1280},
        ),
        FitRule(
            "internvl3",
            "InternVL dynamic_preprocess, 448-px tiles, up to 12 (aspect kept when sent)",
            internvl_view,
            send=internvl_send,
            source="OpenGVLab/InternVL dynamic_preprocess",
            settings={"image_size": 448, "max_num": 12},
        ),
        FitRule(
            "llava-onevision",
            "LLaVA-OneVision anyres (384-px grid pinpoints up to 2304 x 2304)",
            llava_onevision_view,
            source="transformers LlavaOnevisionImageProcessor",
        ),
    )
}


@hookimpl
def register_fit_targets(register):
    for name, rule in BUILTIN_RULES.items():
        register(name, lambda rule=rule: rule)


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
