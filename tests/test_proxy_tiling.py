"""Scale-aware (proxy) tiling: the tile count stays near N and the grid maps back to full resolution."""

from __future__ import annotations

import numpy as np
import pytest

from pgpcodec.errors import UsageError
from pgpcodec.prefilter import native_sigma
from pgpcodec.interfaces import SigmaField
from pgpcodec.maths.grid import plan_tiles, proxy_size, tile_count, tile_grid
from pgpcodec.tile_scorer import TileScorer


def plan(width, height, mode, target=24):
    return plan_tiles(width, height, tile=224, target_tiles=target, tiling_mode=mode)


def test_reference_tiling_is_the_papers():
    p = plan(4000, 3000, "reference")
    assert p.scored == p.grid == tile_grid(4000, 3000, tile=224, target_tiles=24)
    assert tile_count(p.scored, 224) == 18 * 14  # the paper's tiling at 12 MP: 252 tiles


def test_tile_count_matches_the_sliding_window():
    grid = tile_grid(700, 500, tile=224, target_tiles=24)
    xs = range(0, grid.grid_size[0] - 224 + 1, grid.block)
    ys = range(0, grid.grid_size[1] - 224 + 1, grid.block)
    assert tile_count(grid, 224) == len(xs) * len(ys)


@pytest.mark.parametrize("width,height", [(4000, 3000), (3000, 4000), (8000, 6000), (2310, 1732), (6000, 1000)])
def test_proxy_keeps_the_tile_count_near_the_target(width, height):
    p = plan(width, height, "proxy")
    assert abs(tile_count(p.scored, 224) - 24) <= 6
    assert p.grid.image_size == (width, height)
    assert p.grid.shape == p.scored.shape
    # The reported grid has the proxy's working-image geometry, scaled to the photo.
    for axis, side in enumerate((width, height)):
        expected = p.scored.grid_size[axis] / p.scored.image_size[axis]
        assert p.grid.grid_size[axis] / side == pytest.approx(expected, rel=0.01)


def test_proxy_leaves_photos_the_paper_tiles_with_few_tiles_alone():
    for width, height in [(512, 512), (1154, 866), (640, 427)]:
        assert proxy_size(width, height, tile=224, target_tiles=24) == (width, height)
        assert plan(width, height, "proxy") == plan(width, height, "reference")


def test_proxy_never_upscales():
    width, height = proxy_size(5000, 400, tile=224, target_tiles=24)
    assert width <= 5000 and height <= 400


def test_sigma_keeps_its_units_under_the_proxy():
    """Block σ means pixels of a working image about the photo's size, whichever tiling scored it."""
    for mode in ("reference", "proxy"):
        grid = plan(4000, 3000, mode).grid
        field = SigmaField(np.full(grid.shape, 6.0), grid)
        sigma = native_sigma(field)
        assert sigma.shape == (3000, 4000)
        assert 6.0 * 0.85 < float(sigma.mean()) <= 6.0 * 1.001


def test_unknown_tiling_is_a_usage_error():
    with pytest.raises(UsageError):
        plan(100, 100, "fancy")


class MeanColourScorer(TileScorer):
    """Embeds a tile by its mean colour: enough to check geometry without a model."""

    name = "mean-colour"

    def __init__(self, **options):
        super().__init__(**options)
        self.tile_shapes = []

    def embed_tiles(self, tiles):
        self.tile_shapes.append(tiles.shape)
        return tiles.mean(axis=(2, 3)) + 3.0

    def embed_text(self, text):
        return np.array([1.0, 0.0, 0.0])


def test_tile_scorer_scores_the_proxy_and_reports_full_resolution():
    image = np.zeros((1500, 2000, 3), dtype=np.uint8)
    image[:, 1000:, 0] = 255  # the right half is red: those tiles score higher
    reference = MeanColourScorer().score(image, "red")
    proxy_scorer = MeanColourScorer(tiling="proxy")
    proxy = proxy_scorer.score(image, "red")
    assert len(proxy.tile_scores) < len(reference.tile_scores)
    assert proxy_scorer.tile_shapes[0][0] == len(proxy.tile_scores)
    assert proxy.grid.image_size == (2000, 1500)
    rows, cols = proxy.scores.shape
    assert proxy.scores[:, cols - 1].mean() > proxy.scores[:, 0].mean()
    # Tile corners are in the reported grid's pixels: whole blocks inside the grid.
    assert (proxy.tile_positions % proxy.grid.block == 0).all()
    assert proxy.tile_positions.max(axis=0).tolist() <= [proxy.grid.grid_size[0], proxy.grid.grid_size[1]]


def test_uniform_scorer_accepts_the_tiling_option():
    from pgpcodec_scorers.basic import UniformScorer

    scores = UniformScorer(tiling="proxy").score(np.zeros((3000, 4000, 3), np.uint8), "")
    assert scores.grid.image_size == (4000, 3000)
    assert scores.scores.shape == plan(4000, 3000, "proxy").grid.shape


def test_cli_passes_the_tiling_to_the_scorer():
    from pgpcodec.cli.options import scorer_options

    assert scorer_options(24, False) == {}
    assert scorer_options(24, False, "proxy") == {"tiling": "proxy"}


def test_tinyclip_scorer_takes_the_proxy_tiling(tmp_path):
    from pgpcodec_scorers.tinyclip.testing import build_tiny_clip
    from pgpcodec_scorers.tinyclip.scorer import TinyClipScorer

    model = build_tiny_clip(tmp_path / "model", seed=1, int8=False)
    image = np.random.default_rng(0).integers(0, 256, (1500, 2000, 3), dtype=np.uint8)
    reference = TinyClipScorer(model=model).score(image, "a cat")
    proxy = TinyClipScorer(model=model, tiling="proxy").score(image, "a cat")
    assert len(proxy.tile_scores) < len(reference.tile_scores)
    assert proxy.grid.image_size == reference.grid.image_size == (2000, 1500)
