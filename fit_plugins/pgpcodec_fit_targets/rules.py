"""The built-in fit targets: each VLM's own resize rule, from its provider's documentation or
processor source (docs/fit.md cites each, with its date). Pure functions (width, height) -> (width, height).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pgpcodec.fit import FitRule, Size, scale_to


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
