"""The contract every pgpcodec scorer keeps, as reusable pytest tests.

Built-in and third-party scorers run the same checks. A plugin author
subclasses :class:`ScorerContractTests` in a test module::

    from pgpcodec.testing.scorer_contract import ScorerContractTests

    class TestMyScorer(ScorerContractTests):
        scorer_name = "my-scorer"        # as registered by your plugin
        scorer_options = {"blur": 2}     # passed to the factory

The checks: the score map's shape matches its block grid, the blocks tile
``grid_size`` exactly and ``grid.image_size`` is the image's size; scores
are finite floats, never negative and not all zero; the same image gives
the same scores (same instance and a new one); the input is left
untouched; constant, tiny (1×1, 2×3, 1×97 …) and huge (12 MP,
``huge_size``) images work; a scorer with ``prompt_guided = False`` gives
the same scores whatever the prompt; its preferred sigma map exists; and
it runs inside a real :class:`~pgpcodec.prefilter.Prefilter`. Every check
is also a plain function (``check_*``) for use outside pytest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..interfaces import Box, ScoreMap, Scorer
from ._shared import once_per_class
from .samples import sample_image

TINY_SIZES = ((1, 1), (2, 3), (7, 5), (1, 97), (97, 1))
PROMPT = "What colour is the car on the left?"


# -- the checks, as plain functions --------------------------------------------------


def check_score_map(result: ScoreMap, width: int, height: int) -> None:
    """Shape, geometry and positivity of one score map for a width × height image."""
    assert isinstance(result, ScoreMap), f"score() returned {type(result).__name__}, not ScoreMap"
    grid = result.grid
    assert tuple(grid.image_size) == (width, height), f"grid.image_size {grid.image_size} is not the image's ({width}, {height})"
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


def score_checked(scorer: Scorer, image: np.ndarray, prompt: str = PROMPT, regions: Sequence[Box] = ()) -> ScoreMap:
    height, width = image.shape[:2]
    result = scorer.score(image, prompt, regions=tuple(regions))
    check_score_map(result, width, height)
    return result


def check_deterministic(scorer: Scorer, fresh: Scorer, image: np.ndarray, regions: Sequence[Box] = ()) -> None:
    first = score_checked(scorer, image, regions=regions)
    again = score_checked(scorer, image, regions=regions)
    other = score_checked(fresh, image, regions=regions)
    np.testing.assert_array_equal(first.scores, again.scores, err_msg="same scorer, same image, different scores")
    np.testing.assert_array_equal(first.scores, other.scores, err_msg="a new scorer instance gives different scores")
    assert first.grid == again.grid == other.grid


def check_input_untouched(scorer: Scorer, image: np.ndarray, regions: Sequence[Box] = ()) -> None:
    before = image.copy()
    score_checked(scorer, image, regions=regions)
    assert np.array_equal(image, before), "score() modified its input array"


def check_prompt_ignored(scorer: Scorer, image: np.ndarray, regions: Sequence[Box] = ()) -> None:
    """For ``prompt_guided = False``: the prompt does not change the scores."""
    a = score_checked(scorer, image, "a red car", regions)
    b = score_checked(scorer, image, "how many birds are in the sky?", regions)
    np.testing.assert_array_equal(a.scores, b.scores, err_msg="prompt_guided is False but the prompt changes the scores")


def check_preferred_sigma_map(scorer: Scorer) -> None:
    from ..plugins import get_registry

    if scorer.preferred_sigma_map is None:
        return
    name, sigma_one = scorer.preferred_sigma_map
    assert name in get_registry().names("sigma_map"), f"preferred sigma map {name!r} is not registered"
    assert sigma_one >= 0


def check_in_pipeline(scorer: Scorer, image: np.ndarray, regions: Sequence[Box] = ()) -> None:
    from ..defaults import NO_PROMPT_PROCESSOR
    from ..prefilter import Prefilter

    result = Prefilter(scorer, prompt_processor=NO_PROMPT_PROCESSOR).run(image, PROMPT, regions=regions)
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    assert np.all(np.isfinite(result.sigma_field.sigma)) and np.all(result.sigma_field.sigma >= 0)


# -- the pytest face -------------------------------------------------------------------


class ScorerContractTests:
    """Subclass as ``TestSomething`` and set ``scorer_name`` (and maybe the rest)."""

    scorer_name: str = ""
    scorer_options: dict = {}
    image_size: tuple[int, int] = (160, 120)
    tiny_sizes: tuple[tuple[int, int], ...] = TINY_SIZES
    huge_size: tuple[int, int] = (4000, 3000)
    """A 12 MP phone photo; override with a reason for scorers too slow for it in unit tests."""

    def make_scorer(self) -> Scorer:
        from ..plugins import get_registry

        return get_registry().create("scorer", self.scorer_name, **self.scorer_options)

    def regions_for(self, width: int, height: int) -> tuple[Box, ...]:
        """Regions passed with every image; scorers that need regions override this."""
        return ()

    def scorer(self) -> Scorer:
        return once_per_class(self, "_contract_scorer", self.make_scorer)

    def image(self, width: int | None = None, height: int | None = None, seed: int = 0) -> tuple[np.ndarray, tuple[Box, ...]]:
        width, height = (width, height) if width else self.image_size
        return sample_image(width, height, seed), self.regions_for(width, height)

    def test_is_a_scorer(self):
        scorer = self.scorer()
        assert isinstance(scorer, Scorer)
        assert scorer.name == self.scorer_name, f"scorer.name {scorer.name!r} differs from its registered name"
        assert isinstance(scorer.prompt_guided, bool)

    def test_preferred_sigma_map_exists(self):
        check_preferred_sigma_map(self.scorer())

    def test_score_map_shape_and_positivity(self):
        image, regions = self.image()
        score_checked(self.scorer(), image, regions=regions)

    def test_portrait_and_wide(self):
        width, height = self.image_size
        for w, h in ((height, width), (width * 2, height // 2)):
            image, regions = self.image(w, h, 1)
            score_checked(self.scorer(), image, regions=regions)

    def test_deterministic(self):
        image, regions = self.image(seed=3)
        check_deterministic(self.scorer(), self.make_scorer(), image, regions)

    def test_input_untouched(self):
        image, regions = self.image(seed=4)
        check_input_untouched(self.scorer(), image, regions)

    def test_constant_images(self):
        width, height = self.image_size
        regions = self.regions_for(width, height)
        for value in (0, 128, 255):
            score_checked(self.scorer(), np.full((height, width, 3), value, dtype=np.uint8), regions=regions)

    def test_tiny_images(self):
        for width, height in self.tiny_sizes:
            image, regions = self.image(width, height, 5)
            score_checked(self.scorer(), image, regions=regions)

    def test_huge_image(self):
        image, regions = self.image(*self.huge_size, 6)
        score_checked(self.scorer(), image, regions=regions)

    def test_prompt_ignored_when_not_guided(self):
        import pytest

        if self.scorer().prompt_guided:
            pytest.skip("the scorer is guided by the prompt")
        image, regions = self.image(seed=7)
        check_prompt_ignored(self.scorer(), image, regions)

    def test_runs_in_the_pipeline(self):
        image, regions = self.image(seed=8)
        check_in_pipeline(self.scorer(), image, regions)
