"""pgpcodec scorer plugin: spectral-residual saliency, the prompt-agnostic baseline.

Registers the scorer ``spectral-residual``. It ignores the prompt and needs
no model: it is the training-free "importance without the prompt" baseline
that prompt-guided scoring is measured against.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pgpcodec import hookimpl
from pgpcodec.errors import UsageError
from pgpcodec.interfaces import BlockGrid, Box, ScoreMap, Scorer

__version__ = "0.1.0"


class SpectralResidualScorer(Scorer):
    """Saliency on a coarse block grid whose longer side has ``max_side`` blocks.

    The image is area-averaged to one pixel per block (the paper works at
    64 px), the spectral residual is computed there, smoothed with a
    Gaussian of ``blur`` blocks, and scaled to mean 1 like the tile
    scorers' softmax scores, so the default exponential sigma map gives
    average parts σ_1 and salient parts less.
    """

    name = "spectral-residual"
    prompt_guided = False

    def __init__(self, *, max_side: int = 64, blur: float = 3.0):
        if int(max_side) < 1 or blur < 0:
            raise UsageError("spectral-residual needs max_side >= 1 and blur >= 0")
        self.max_side = int(max_side)
        self.blur = float(blur)

    def grid_for(self, width: int, height: int) -> BlockGrid:
        from .spectral import working_grid_shape

        block, (cols, rows) = working_grid_shape(width, height, self.max_side)
        return BlockGrid(block, (cols * block, rows * block), (width, height))

    def score(self, image: np.ndarray, prompt: str, *, regions: Sequence[Box] = ()) -> ScoreMap:
        from PIL import Image

        from .spectral import saliency_scores, to_gray  # scipy loads only when the scorer is used

        height, width = image.shape[:2]
        grid = self.grid_for(width, height)
        rows, cols = grid.shape
        small = np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((cols, rows), Image.Resampling.BOX))
        return ScoreMap(saliency_scores(to_gray(small), blur=self.blur), grid, prompt_used=prompt)


@hookimpl
def register_scorers(register):
    register(SpectralResidualScorer.name, SpectralResidualScorer)
