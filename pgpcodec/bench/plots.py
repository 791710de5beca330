"""Rate–metric plots as in the paper's Fig. 3: one PNG per codec.

The plain codec is drawn solid, every other variant dashed. The first panel
is the evaluator's score (ROI-PSNR or accuracy); the second the context
PSNR (outside the regions, both images downscaled to the VLM's scale), which
shows what the prefilter took from the context a VLM can still use; the
third the PSNR outside the regions at full resolution.
"""

from __future__ import annotations

import io
from pathlib import Path

from .bdrate import Point


def plot_codec(
    codec: str,
    points: dict[tuple[str, str], list[Point]],
    variants: list[str],
    metric_label: str,
    path: Path,
    *,
    title_note: str = "",
    context_size: int = 448,
) -> Path:
    """Write ``path`` (PNG) with the curves of every variant measured for ``codec``."""
    from ..extras import require

    require({"matplotlib": "matplotlib"}, "plots", "the bench's plots")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from ..imaging import write_atomic

    figure = Figure(figsize=(15, 4.2), dpi=110)
    left, middle, right = figure.subplots(1, 3)
    for index, variant in enumerate(variants):
        curve = points.get((variant, codec))
        if not curve:
            continue
        style = "-" if variant == "plain" else "--"
        colour = f"C{index % 10}"
        bpp = [p.bpp for p in curve]
        left.plot(bpp, [p.score for p in curve], style, marker="o", color=colour, label=variant)
        for axes, attribute in ((middle, "context_psnr"), (right, "outside_psnr")):
            values = [(p.bpp, getattr(p, attribute)) for p in curve if getattr(p, attribute) is not None]
            if values:
                axes.plot(*zip(*values), style, marker="o", color=colour, label=variant)
    panels = (
        (left, metric_label),
        (middle, f"context PSNR at {context_size} px long side (dB)"),
        (right, "PSNR outside the regions, full size (dB)"),
    )
    for axes, ylabel in panels:
        axes.set_xlabel("bits per pixel")
        axes.set_ylabel(ylabel)
        axes.grid(True, alpha=0.3)
    left.legend(fontsize="small")
    figure.suptitle(f"{codec}: rate vs {metric_label}" + (f" — {title_note}" if title_note else ""))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    write_atomic(path, buffer.getvalue(), force=True)
    return path
