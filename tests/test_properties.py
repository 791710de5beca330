"""Hypothesis property tests for the prefilter maths (pgpcodec/maths/*)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pgpcodec.maths import filters, scores, sigma
from pgpcodec.maths import grid as grid_math
from pgpcodec.maths.grid import tile_grid

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
sizes = st.integers(min_value=1, max_value=3000)
tiles = st.sampled_from([16, 32, 224])


@FAST
@given(width=sizes, height=sizes, tile=tiles, target=st.integers(1, 200), overlap=st.booleans())
def test_tiling_covers_every_pixel(width, height, tile, target, overlap):
    grid = tile_grid(width, height, tile=tile, target_tiles=target, overlap=overlap)
    grid_w, grid_h = grid.grid_size
    assert grid_w >= width and grid_h >= height  # resized up, never down
    assert grid_w % grid.block == 0 and grid_h % grid.block == 0
    positions = grid_math.tile_positions(grid_w, grid_h, tile, grid.block)
    covered = np.zeros((grid_h, grid_w), dtype=bool)
    for x, y in positions:
        assert x + tile <= grid_w and y + tile <= grid_h
        covered[y : y + tile, x : x + tile] = True
    assert covered.all()
    # Every block of the grid is covered by a tile, so aggregation is defined everywhere.
    blocks = scores.aggregate_blocks(np.ones(len(positions)), positions, grid.grid_size, tile, grid.block)
    assert blocks.shape == grid.shape and np.allclose(blocks, 1.0)


similarity_lists = arrays(np.float64, st.integers(1, 300), elements=st.floats(-1.0, 1.0))


@FAST
@given(sims=similarity_lists, logit_scale=st.floats(0.0, 200.0))
def test_scores_are_positive_and_sum_to_n(sims, logit_scale):
    result = scores.softmax_scores(sims, logit_scale)
    assert result.shape == sims.shape
    assert np.all(np.isfinite(result)) and np.all(result > 0)
    assert result.sum() == pytest.approx(len(sims), rel=1e-9)


@FAST
@given(
    sims=similarity_lists,
    logit_scale=st.floats(1.0, 100.0),
    data=st.data(),
)
def test_aggregated_block_scores_stay_positive(sims, logit_scale, data):
    tile, stride = 32, data.draw(st.sampled_from([8, 16, 32]))
    cols, rows = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    positions = grid_math.tile_positions(cols * tile, rows * tile, tile, stride)
    rng = np.random.default_rng(len(sims))
    tile_scores = scores.softmax_scores(rng.uniform(-1, 1, len(positions)), logit_scale)
    blocks = scores.aggregate_blocks(tile_scores, positions, (cols * tile, rows * tile), tile, stride)
    assert np.all(blocks > 0)
    assert blocks.min() >= tile_scores.min() - 1e-12 and blocks.max() <= tile_scores.max() + 1e-12


MAPS = {
    "exponential": (sigma.exponential, True),
    "linear": (sigma.linear, False),
    "reciprocal": (sigma.reciprocal, True),
}


@FAST
@given(
    name=st.sampled_from(sorted(MAPS)),
    score_values=arrays(np.float64, st.integers(2, 50), elements=st.floats(0.0, 30.0)),
    sigma_max=st.floats(0.01, 50.0),
    ratio=st.floats(0.0, 1.0),
)
def test_sigma_is_monotone_non_increasing_in_score(name, score_values, sigma_max, ratio):
    function, needs_positive_one = MAPS[name]
    sigma_one = sigma_max * ratio
    assume(not needs_positive_one or sigma_one > 1e-6)
    ordered = np.sort(score_values)
    result = function(ordered, sigma_max=sigma_max, sigma_one=sigma_one)
    assert np.all(np.isfinite(result)) and np.all(result >= 0)
    # A more relevant block never gets more blur (tolerance for float rounding).
    assert np.all(np.diff(result) <= 1e-9 * max(1.0, sigma_max))
    at_one = function(np.array([1.0]), sigma_max=sigma_max, sigma_one=sigma_one)[0]
    assert at_one == pytest.approx(sigma_one, rel=1e-9, abs=1e-12)


@FAST
@given(name=st.sampled_from(sorted(MAPS)), sigma_max=st.floats(0.5, 20.0), ratio=st.floats(0.01, 1.0))
def test_registered_sigma_maps_match_the_maths(name, sigma_max, ratio):
    """The plugin objects the pipeline uses compute the same σ as the pure functions."""
    from pgpcodec.plugins import get_registry

    mapping = get_registry().create("sigma_map", name)
    values = np.linspace(0, 5, 11)
    expected = MAPS[name][0](values, sigma_max=sigma_max, sigma_one=sigma_max * ratio)
    assert np.allclose(mapping(values, sigma_max=sigma_max, sigma_one=sigma_max * ratio), expected)


images = st.integers(1, 24).flatmap(
    lambda h: st.integers(1, 24).flatmap(
        lambda w: st.tuples(
            arrays(np.uint8, (h, w, 3)),
            arrays(np.float32, (h, w), elements=st.sampled_from([0.0, 0.0, 1e-7, 0.3, 1.0, 2.5, 7.0])),
        )
    )
)


@FAST
@given(pair=images, truncate=st.floats(1.0, 4.0))
def test_native_filter_never_changes_a_pixel_whose_sigma_is_zero(pair, truncate):
    image, sigma_map = pair
    out = filters.varying_gaussian(image, sigma_map, truncate=truncate)
    assert out.shape == image.shape and out.dtype == np.uint8
    untouched = sigma_map <= filters.UNTOUCHED_SIGMA
    assert np.array_equal(out[untouched], image[untouched])


@FAST
@given(
    rows=st.integers(1, 4),
    cols=st.integers(1, 4),
    block=st.sampled_from([6, 8, 12]),
    kernel=st.sampled_from([1, 3, 5]),
    data=st.data(),
)
def test_reference_filter_never_changes_a_block_whose_sigma_is_zero(rows, cols, block, kernel, data):
    image = data.draw(arrays(np.uint8, (rows * block, cols * block, 3)))
    block_sigma = data.draw(arrays(np.float64, (rows, cols), elements=st.sampled_from([0.0, 1e-7, 0.5, 3.0])))
    out = filters.blockwise_gaussian(image, block_sigma, block, kernel)
    untouched = np.repeat(np.repeat(block_sigma <= filters.UNTOUCHED_SIGMA, block, axis=0), block, axis=1)
    assert np.array_equal(out[untouched], image[untouched])


@FAST
@given(pair=images)
def test_constant_image_stays_constant_under_any_blur(pair):
    """Normalised kernels: blurring a flat image changes nothing (no brightening or darkening)."""
    image, sigma_map = pair
    flat = np.full_like(image, 137)
    assert np.array_equal(filters.varying_gaussian(flat, sigma_map), flat)

