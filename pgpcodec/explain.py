"""The explain picture: the image, its score heatmap, its σ map and the filtered result side by side."""

from __future__ import annotations

import io

import numpy as np

from .prefilter import PrefilterResult, native_sigma
from .maths.filters import block_centre_interpolation


def score_per_pixel(result: PrefilterResult) -> np.ndarray:
    grid = result.score_map.grid
    if grid.block == 1 and grid.grid_size == grid.image_size:
        return result.score_map.scores
    return block_centre_interpolation(result.score_map.scores, grid.block, grid.grid_size, grid.image_size)


def explain_png(image: np.ndarray, result: PrefilterResult) -> bytes:
    """Render the four panels to PNG bytes (matplotlib, Agg backend, no display needed)."""
    from .extras import require

    require({"matplotlib": "matplotlib"}, "plots", "the explain picture")
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    height, width = image.shape[:2]
    panel_w = 4.0
    parts = result.score_map.parts
    # A combined scorer (A+B) adds a row: each part's normalised relevance, then the combined one.
    rows = 2 if parts else 1
    columns = max(4, len(parts) + 1)
    fig = Figure(figsize=(columns * panel_w, rows * panel_w * height / width + 0.9), dpi=100)
    grid = fig.subplots(rows, columns, squeeze=False)
    axes = grid[0]
    for ax in grid[0][4:]:
        ax.set_axis_off()
    if parts:
        panels = [*parts, ("combined (max)", result.score_map.scores)]
        for ax, (label, relevance) in zip(grid[1], panels):
            ax.imshow(image)
            shown = ax.imshow(relevance, cmap="inferno", alpha=0.55, vmin=0, vmax=1, extent=(0, width, height, 0))
            ax.set_title(f"{label}: relevance 1 − σ/σ_max", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(shown, ax=grid[1][len(panels) - 1], fraction=0.046, pad=0.02)
        for ax in grid[1][len(panels):]:
            ax.set_axis_off()
    axes[0].imshow(image)
    axes[0].set_title("input")
    axes[1].imshow(image)
    heat = axes[1].imshow(score_per_pixel(result), cmap="inferno", alpha=0.55, extent=(0, width, height, 0))
    axes[1].set_title("relevance score")
    fig.colorbar(heat, ax=axes[1], fraction=0.046, pad=0.02)
    sigma = axes[2].imshow(native_sigma(result.sigma_field), cmap="viridis_r", vmin=0)
    axes[2].set_title("blur σ (pixels)")
    fig.colorbar(sigma, ax=axes[2], fraction=0.046, pad=0.02)
    axes[3].imshow(result.image)
    axes[3].set_title("prefiltered")
    for ax in axes[:4]:
        ax.set_xticks([])
        ax.set_yticks([])
    prompt = result.prompt_used if len(result.prompt_used) <= 90 else result.prompt_used[:87] + "…"
    fig.suptitle(f"scorer {result.scorer}; scored text: {prompt!r}" if prompt else f"scorer {result.scorer}", fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
