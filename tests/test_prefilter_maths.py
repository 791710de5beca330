"""The prefilter maths against hand-computed values (docs/design.md §2)."""

import math

import numpy as np
import pytest
from scipy import ndimage

from pgpcodec.maths import filters, scores, sigma, grid


# --- steps 1–3: resize, stride, tiles -------------------------------------------------
@pytest.mark.parametrize(
    "size, working",
    [((451, 300), (672, 448)), ((512, 512), (672, 672)), ((224, 224), (224, 224)), ((1, 1), (224, 224)), ((4000, 3000), (4032, 3136))],
)
def test_working_size_rounds_up_to_whole_tiles(size, working):
    assert grid.working_size(*size, 224) == working


@pytest.mark.parametrize(
    "working, expected_counts, stride",
    [
        # 672x448: T/4 -> 9*5=45, T/2 -> 5*3=15, T -> 3*2=6; closest to 24 is 15.
        ((672, 448), (45, 15, 6), 112),
        # 672x672: 81, 25, 9 -> 25.
        ((672, 672), (81, 25, 9), 112),
        # 224x224: the estimate counts 2 per axis for every stride: a three-way tie goes to the largest.
        ((224, 224), (4, 4, 4), 224),
        # 12 MP: 4032x3136 at stride T gives 18*14 = 252 tiles, still the closest to 24.
        ((4032, 3136), (69 * 53, 35 * 27, 18 * 14), 224),
    ],
)
def test_stride_choice(working, expected_counts, stride):
    counts = tuple(grid.estimated_tile_count(*working, 224, s) for s in (56, 112, 224))
    assert counts == expected_counts
    assert grid.choose_stride(*working, 224, 24) == stride


def test_tile_positions_row_major():
    assert grid.tile_positions(448, 224, 224, 112).tolist() == [[0, 0], [112, 0], [224, 0]]
    assert grid.tile_positions(448, 448, 224, 224).tolist() == [[0, 0], [224, 0], [0, 224], [224, 224]]


def test_extract_tiles_clip_normalisation():
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    image[0, 0] = (255, 0, 0)
    tiles = grid.extract_tiles(image, np.array([[0, 0]]), 2)
    assert tiles.shape == (1, 3, 2, 2)
    assert tiles[0, 0, 0, 0] == pytest.approx((1.0 - 0.48145466) / 0.26862954, rel=1e-6)
    assert tiles[0, 1, 1, 1] == pytest.approx(-0.4578275 / 0.26130258, rel=1e-6)


# --- steps 5–6: scores and aggregation --------------------------------------------------
def test_cosine_similarities():
    sims = scores.cosine_similarities(np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]), np.array([3.0, 0.0]))
    assert sims == pytest.approx([1.0, 0.0, 1 / math.sqrt(2)])


def test_softmax_scores_by_hand():
    # weights 1 and e^(ln 3) = 3 -> probabilities 1/4, 3/4 -> times n = 2.
    assert scores.softmax_scores(np.array([0.0, math.log(3)]), 1.0) == pytest.approx([0.5, 1.5])
    assert scores.softmax_scores(np.zeros(5), 50.0) == pytest.approx(np.ones(5))


def test_softmax_scores_sum_to_tile_count_and_survive_large_logits():
    values = scores.softmax_scores(np.array([0.9, -0.3, 0.2, 0.95]), 100.0)
    assert values.sum() == pytest.approx(4.0)
    assert (values > 0).all()


def test_aggregate_blocks_by_hand():
    # Three 224-tiles at stride 112 over a 448x224 grid of 4x2 blocks; each tile covers 2x2 blocks.
    positions = np.array([[0, 0], [112, 0], [224, 0]])
    blocks = scores.aggregate_blocks(np.array([1.0, 2.0, 3.0]), positions, (448, 224), 224, 112)
    assert blocks.tolist() == [[1.0, 1.5, 2.5, 3.0], [1.0, 1.5, 2.5, 3.0]]


# --- step 7: sigma maps -----------------------------------------------------------------
@pytest.mark.parametrize(
    "function, expected",
    [
        (sigma.exponential, [10.0, 0.5, 0.025]),  # 0.5 * 20^(1-s)
        (sigma.linear, [10.0, 0.5, 0.0]),  # max(0, 10 - 9.5 s)
        (sigma.reciprocal, [10.0, 0.5, 5.0 / 19.5]),  # 5 / (9.5 s + 0.5)
    ],
)
def test_sigma_at_scores_0_1_2(function, expected):
    assert function(np.array([0.0, 1.0, 2.0]), 10.0, 0.5) == pytest.approx(expected)


def test_sigma_map_rejects_bad_parameters():
    with pytest.raises(ValueError):
        sigma.exponential(np.ones(1), 10.0, 0.0)
    with pytest.raises(ValueError):
        sigma.linear(np.ones(1), 1.0, 2.0)


# --- step 8: filters --------------------------------------------------------------------
def test_gaussian_kernel_matches_formula():
    e = math.exp(-0.5)
    assert filters.gaussian_kernel(1.0, 3) == pytest.approx([e / (1 + 2 * e), 1 / (1 + 2 * e), e / (1 + 2 * e)])


def test_blockwise_gaussian_reflects_at_each_block_border():
    # One 4x4 block with a single 255 at (1, 1), k=3, sigma=1, reflect-101 at the block border.
    k0, k1 = filters.gaussian_kernel(1.0, 3)[:2]
    image = np.zeros((4, 8, 1), dtype=np.uint8)
    image[1, 1] = 255
    image[:, 4:] = 7  # second block: sigma 0, must be copied untouched
    out = filters.blockwise_gaussian(image, np.array([[1.0, 0.0]]), 4, 3)
    assert out[1, 1, 0] == round(255 * k1 * k1)  # 52
    assert out[0, 0, 0] == round(255 * (2 * k0) ** 2)  # row/col -1 reflect onto 1: 77
    assert out[1, 0, 0] == round(255 * k1 * 2 * k0)  # 63
    assert out[3, 3, 0] == 0
    assert (out[:, 4:] == 7).all()


def test_blockwise_gaussian_does_not_mix_blocks():
    image = np.zeros((4, 8, 3), dtype=np.uint8)
    image[:, 4:] = 200
    out = filters.blockwise_gaussian(image, np.full((1, 2), 3.0), 4, 3)
    assert (out[:, :4] == 0).all() and (out[:, 4:] == 200).all()


def test_native_filter_impulse_by_hand():
    # scipy's kernel for sigma 1, truncate 3: radius 3, taps e^(-i^2/2) normalised by 2.50595.
    image = np.zeros((9, 9, 3), dtype=np.uint8)
    image[4, 4] = 255
    out = filters.varying_gaussian(image, np.full((9, 9), 1.0))
    norm = sum(math.exp(-(i * i) / 2) for i in range(-3, 4))
    assert out[4, 4, 0] == round(255 / norm**2)  # 41
    assert out[4, 5, 0] == round(255 * math.exp(-0.5) / norm**2)  # 25
    assert out[0, 0, 0] == 0  # beyond the 3-sigma radius in both axes


def test_native_filter_constant_sigma_is_one_full_image_blur():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    for s in (0.7, 2.3, 6.0):
        expected = ndimage.gaussian_filter(image.astype(np.float32), sigma=(s, s, 0), mode="reflect", truncate=3.0)
        out = filters.varying_gaussian(image, np.full((37, 53), s))
        assert np.array_equal(out, np.clip(np.rint(expected), 0, 255).astype(np.uint8))


def test_native_filter_leaves_sigma_zero_pixels_bit_identical():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    sigma_map = np.full((40, 60), 5.0)
    sigma_map[10:25, 20:45] = 0.0
    sigma_map[30:, :10] = 1e-7  # below the untouched threshold
    out = filters.varying_gaussian(image, sigma_map)
    untouched = sigma_map <= filters.UNTOUCHED_SIGMA
    assert np.array_equal(out[untouched], image[untouched])
    assert not np.array_equal(out[~untouched], image[~untouched])


def test_sigma_levels_and_blend_weights():
    field = np.array([[0.0, 1.0, 2.25, 1.2]])
    levels = filters.sigma_levels(field, ratio=1.5)
    assert levels == pytest.approx([0.0, 1.0, 1.5, 2.25])
    position = filters.level_positions(field, levels)
    weights = np.stack([filters.hat_weight(position, i) for i in range(len(levels))])
    assert weights.sum(axis=0) == pytest.approx(np.ones((1, 4)))
    # sigma 1.2 sits 0.4 of the way from level 1.0 to 1.5.
    assert weights[:, 0, 3] == pytest.approx([0.0, 0.6, 0.4, 0.0])


def test_block_centre_interpolation_by_hand():
    # Two 2-px blocks; pixel centres 0.5..3.5 sit at block positions -0.25, 0.25, 0.75, 1.25 (clamped).
    out = filters.block_centre_interpolation(np.array([[0.0, 10.0]]), 2, (4, 2), (4, 2))
    assert out[0] == pytest.approx([0.0, 2.5, 7.5, 10.0])


def test_min_pool_to_grid():
    values = np.full((4, 4), 3.0)
    values[3, 3] = 0.0
    assert filters.min_pool_to_grid(values, 2, (4, 4)).tolist() == [[3.0, 3.0], [3.0, 0.0]]
    # A grid twice the image size: each 2-px grid block covers one original pixel.
    assert filters.min_pool_to_grid(values, 2, (8, 8))[3, 3] == 0.0


def test_min_pool_to_grid_takes_every_original_pixel_a_block_overlaps():
    # A 5x3 image under a 4x4 grid of 2-px blocks: a block spans 2.5 original pixels across and
    # 1.5 down, so column 2 and row 1 lie partly in two blocks and count for both.
    values = np.arange(15.0).reshape(3, 5)
    assert filters.min_pool_to_grid(values, 2, (4, 4)).tolist() == [[0.0, 2.0], [5.0, 7.0]]
    # One low pixel lowers each block it overlaps, and no other.
    values[1, 2] = -1.0
    assert filters.min_pool_to_grid(values, 2, (4, 4)).tolist() == [[-1.0, -1.0], [-1.0, -1.0]]
    values[1, 2], values[2, 4] = 7.0, -2.0
    assert filters.min_pool_to_grid(values, 2, (4, 4)).tolist() == [[0.0, 2.0], [5.0, -2.0]]
