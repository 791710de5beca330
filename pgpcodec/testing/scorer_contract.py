"""The scorer contract: what every Scorer plugin must do, as a reusable pytest class.

Subclass :class:`ScorerContract` in a test module and name the scorer::

    from pgpcodec.testing.scorer_contract import ScorerContract

    class TestMyScorer(ScorerContract):
        scorer_name = "my-scorer"          # as registered by your plugin

pytest then runs every ``test_*`` method below against your scorer,
created through the plugin registry exactly as ``pgpcodec encode --scorer``
creates it. Override :meth:`make_scorer` to build it differently (options,
a small test model), :meth:`regions_for` if it needs regions, and the
size attributes if your scorer is too slow for a 12 MP image in tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from ..interfaces import Box, ScoreMap, Scorer
from .samples import sample_image


class ScorerContract:
    scorer_name: str = ""
    """The name the plugin registers; required."""
    scorer_options: dict = {}
    """Options passed to the factory by :meth:`make_scorer`."""
    prompt: str = "What colour is the car on the left?"
    image_size: tuple[int, int] = (160, 120)
    """(width, height) of the ordinary test image."""
    tiny_sizes: Sequence[tuple[int, int]] = ((1, 1), (2, 3), (7, 5), (1, 97), (97, 1))
    huge_size: tuple[int, int] = (4000, 3000)
    """A 12 MP phone photo."""

    # -- hooks for subclasses --------------------------------------------
    def make_scorer(self) -> Scorer:
        from ..plugins import PluginRegistry

        if not self.scorer_name:
            raise TypeError(f"{type(self).__name__} must set scorer_name")
        return PluginRegistry().create("scorer", self.scorer_name, **self.scorer_options)

    def regions_for(self, width: int, height: int) -> tuple[Box, ...]:
        """Regions passed with every image; scorers that need regions override this."""
        return ()

    # -- fixtures ----------------------------------------------------------
    @pytest.fixture(scope="class")
    @classmethod
    def scorer(cls) -> Scorer:
        """One scorer per test class, so a model loads once."""
        return cls().make_scorer()

    def score(self, scorer: Scorer, image: np.ndarray, prompt: str | None = None) -> ScoreMap:
        height, width = image.shape[:2]
        result = scorer.score(image, self.prompt if prompt is None else prompt, regions=self.regions_for(width, height))
        self.check_score_map(result, width, height)
        return result

    @staticmethod
    def check_score_map(result: ScoreMap, width: int, height: int) -> None:
        """Shape, geometry and positivity; shared by every test."""
        assert isinstance(result, ScoreMap), f"score() returned {type(result).__name__}, not ScoreMap"
        grid = result.grid
        assert grid.image_size == (width, height), f"grid.image_size {grid.image_size} is not the image's ({width}, {height})"
        assert grid.block >= 1
        rows, cols = grid.shape
        assert rows >= 1 and cols >= 1, f"empty block grid {grid}"
        assert (cols * grid.block, rows * grid.block) == tuple(grid.grid_size), f"blocks do not tile grid_size exactly: {grid}"
        scores = result.scores
        assert scores.shape == (rows, cols)
        assert np.issubdtype(scores.dtype, np.floating), f"scores are {scores.dtype}, not floating point"
        assert np.all(np.isfinite(scores)), "scores contain NaN or infinity"
        assert np.all(scores >= 0), f"negative score {scores.min()}"
        assert np.any(scores > 0), "every score is 0"

    # -- the contract ------------------------------------------------------
    def test_is_a_scorer(self, scorer):
        assert isinstance(scorer, Scorer)
        if self.scorer_name:
            assert scorer.name == self.scorer_name, f"scorer.name {scorer.name!r} differs from its registered name"
        assert isinstance(scorer.prompt_guided, bool)

    def test_preferred_sigma_map_exists(self, scorer):
        from ..plugins import PluginRegistry

        if scorer.preferred_sigma_map is None:
            return
        name, sigma_one = scorer.preferred_sigma_map
        assert name in PluginRegistry().names("sigma_map"), f"preferred sigma map {name!r} is not registered"
        assert sigma_one >= 0

    def test_score_map_shape_and_positivity(self, scorer):
        width, height = self.image_size
        self.score(scorer, sample_image(width, height))

    def test_portrait_and_landscape(self, scorer):
        width, height = self.image_size
        self.score(scorer, sample_image(height, width, seed=1))
        self.score(scorer, sample_image(width * 2, height // 2, seed=2))

    def test_deterministic(self, scorer):
        width, height = self.image_size
        image = sample_image(width, height, seed=3)
        first = self.score(scorer, image)
        again = self.score(scorer, image)
        fresh = self.score(self.make_scorer(), image)
        np.testing.assert_array_equal(first.scores, again.scores, err_msg="same scorer, same image, different scores")
        np.testing.assert_array_equal(first.scores, fresh.scores, err_msg="new scorer instance gives different scores")
        assert first.grid == again.grid == fresh.grid

    def test_input_not_modified(self, scorer):
        width, height = self.image_size
        image = sample_image(width, height, seed=4)
        before = image.copy()
        self.score(scorer, image)
        np.testing.assert_array_equal(image, before, err_msg="score() modified the input image")

    def test_constant_image(self, scorer):
        width, height = self.image_size
        self.score(scorer, np.full((height, width, 3), 128, dtype=np.uint8))
        self.score(scorer, np.zeros((height, width, 3), dtype=np.uint8))

    def test_tiny_images(self, scorer):
        for width, height in self.tiny_sizes:
            self.score(scorer, sample_image(width, height, seed=5))

    def test_huge_image(self, scorer):
        width, height = self.huge_size
        self.score(scorer, sample_image(width, height, seed=6))

    def test_prompt_agnostic_scorer_ignores_prompt(self, scorer):
        if scorer.prompt_guided:
            pytest.skip("prompt-guided scorer")
        width, height = self.image_size
        image = sample_image(width, height, seed=7)
        a = self.score(scorer, image, "a red car")
        b = self.score(scorer, image, "how many birds are in the sky?")
        np.testing.assert_array_equal(a.scores, b.scores, err_msg="prompt_guided is False but the prompt changes the scores")

    def test_runs_in_the_pipeline(self, scorer):
        from ..pipeline import Pipeline

        width, height = self.image_size
        image = sample_image(width, height, seed=8)
        pipeline = Pipeline(scorer=scorer, codec="jpeg", prompt_processor="none")
        result = pipeline.prefilter(image, self.prompt, regions=self.regions_for(width, height))
        assert result.image.shape == image.shape and result.image.dtype == np.uint8
        assert np.all(np.isfinite(result.sigma_field.sigma))
        assert np.all(result.sigma_field.sigma >= 0)
