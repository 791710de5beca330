"""The no-overlap ablation applies to scorers laid on the paper's tiles (TiledScorer), by type, not by attribute."""

from __future__ import annotations

import types

import numpy as np

from pgpcodec import hookimpl
from pgpcodec.bench.variants import VariantFactory, build_variants
from pgpcodec.interfaces import BlockGrid, ScoreMap, Scorer
from pgpcodec.plugins import PluginRegistry
from pgpcodec.tile_scorer import TiledScorer


class Flat(TiledScorer):
    """A tiled scorer with no embeddings: every block 1."""

    name = "flat"
    prompt_guided = False

    def score(self, image, prompt, *, regions=()):
        grid = self.plan(image.shape[1], image.shape[0]).grid
        return ScoreMap(np.ones(grid.shape), grid)


class LooksTiled(Scorer):
    """Has an ``overlap`` attribute but cuts no tiles."""

    name = "looks-tiled"
    prompt_guided = False

    def __init__(self, overlap: bool = True):
        self.overlap = overlap

    def score(self, image, prompt, *, regions=()):
        height, width = image.shape[:2]
        return ScoreMap(np.ones((height, width)), BlockGrid(1, (width, height), (width, height)))


def _registry() -> PluginRegistry:
    plugin = types.ModuleType("fake_tiled_scorers")
    plugin.register_scorers = hookimpl(lambda register: (register("flat", Flat), register("looks-tiled", LooksTiled)))
    return PluginRegistry(modules=[plugin])


def test_no_overlap_applies_to_a_tiled_scorer_and_not_to_one_that_only_has_the_attribute():
    registry = _registry()
    variants, skipped = build_variants(["no-overlap"], VariantFactory("flat", registry))
    assert [v.name for v in variants] == ["plain", "no-overlap"] and not skipped
    assert variants[1].settings["scorer_options"] == {"overlap": False}
    variants, skipped = build_variants(["no-overlap"], VariantFactory("looks-tiled", registry))
    assert [v.name for v in variants] == ["plain"]
    assert "has no tiles" in skipped[0].reason


def test_a_tiled_scorer_checks_its_tiling_and_plans_the_papers_grid():
    flat = Flat(target_tiles=24)
    assert flat.plan(640, 480).grid == BlockGrid(112, (672, 672), (640, 480))
    assert Flat(overlap=False).plan(640, 480).grid.block == 224
