"""The fast blur engine behind the native filter, against scipy and against its own definition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from pgpcodec.maths import blur, filters


def scipy_blur(image: np.ndarray, sigma: float, truncate: float = 3.0) -> np.ndarray:
    out = gaussian_filter1d(image.astype(np.float64), sigma, axis=0, mode="reflect", truncate=truncate)
    return gaussian_filter1d(out, sigma, axis=1, mode="reflect", truncate=truncate)


def random_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def test_taps_match_hand_computed_values():
    taps = blur.gaussian_taps(1.0, 2.0)  # radius int(2·1 + 0.5) = 2
    expected = np.exp(-0.5 * np.array([4.0, 1.0, 0.0, 1.0, 4.0]))
    np.testing.assert_allclose(taps, expected / expected.sum(), rtol=1e-6)


def test_kernel_radius_rounds_like_scipy():
    assert blur.kernel_radius(10.0, 3.0) == 30
    assert blur.kernel_radius(0.5, 3.0) == 2  # 1.5 rounds up
    assert blur.kernel_radius(0.16, 3.0) == 0  # a one-tap kernel: the identity


def test_band_matrix_rows_hold_shifted_taps():
    taps = blur.gaussian_taps(0.8, 3.0)
    band = blur.band_matrix(0.8, 3.0, 4)
    assert band.shape == (4, 4 + len(taps) - 1)
    for j in range(4):
        np.testing.assert_array_equal(band[j, j : j + len(taps)], taps)
        assert band[j].sum() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("n,start,stop", [(5, -3, 8), (3, -10, 13), (1, -4, 5)])
def test_reflect_indices_match_numpy_symmetric_padding(n, start, stop):
    values = np.arange(n)
    pad = max(-start, stop - n)
    padded = np.pad(values, pad, mode="symmetric")
    expected = padded[start + pad : stop + pad]
    np.testing.assert_array_equal(values[blur.reflect_indices(start, stop, n)], expected)


@pytest.mark.parametrize(
    "height,width,sigma",
    [(130, 97, 10.0), (64, 64, 0.7), (7, 5, 10.0), (200, 33, 2.5), (1, 40, 1.0)],
)
def test_gaussian_blur_matches_scipy(height, width, sigma):
    image = random_image(height, width)
    np.testing.assert_allclose(filters.gaussian_blur(image, sigma), scipy_blur(image, sigma), atol=2e-3)


def test_gaussian_blur_of_a_point_is_the_outer_product_of_taps():
    image = np.zeros((41, 41, 1), dtype=np.float32)
    image[20, 20, 0] = 1.0
    taps = blur.gaussian_taps(2.0, 3.0)  # radius 6: stays inside the image
    out = filters.gaussian_blur(image, 2.0)[..., 0]
    expected = np.zeros((41, 41))
    expected[14:27, 14:27] = np.outer(taps, taps)
    np.testing.assert_allclose(out, expected, atol=1e-7)


def test_gaussian_blur_keeps_2d_shape():
    image = random_image(50, 60)[..., 0]
    assert filters.gaussian_blur(image, 1.5).shape == (50, 60)


def definition(image: np.ndarray, sigma: np.ndarray, truncate: float = 3.0) -> np.ndarray:
    """The varying Gaussian straight from its definition: full-image blurs at each level, hat-weighted."""
    levels = filters.sigma_levels(sigma)
    position = np.interp(sigma, levels, np.arange(len(levels)))
    out = np.zeros(image.shape, dtype=np.float64)
    for i, level in enumerate(levels):
        weight = np.maximum(0.0, 1.0 - np.abs(position - i))[..., None]
        out += weight * (scipy_blur(image, level, truncate) if level > 0 else image)
    result = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    result[sigma <= filters.UNTOUCHED_SIGMA] = image[sigma <= filters.UNTOUCHED_SIGMA]
    return result


def smooth_sigma_field(height: int, width: int, low: float, high: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 1, size=(4, 5))
    field = filters.block_centre_interpolation(coarse, 1, (5, 4), (width, height))
    return (low * (high / low) ** field).astype(np.float32)


@pytest.mark.parametrize("low,high", [(0.01, 8.0), (0.5, 3.0)])
def test_varying_gaussian_follows_its_definition(low, high):
    image = random_image(150, 230, seed=3)
    sigma = smooth_sigma_field(150, 230, low, high)
    out = filters.varying_gaussian(image, sigma)
    diff = np.abs(out.astype(int) - definition(image, sigma))
    assert diff.max() <= 1  # float32 against float64 rounding
    assert (diff > 0).mean() < 0.01


def test_varying_gaussian_with_untouched_pixels_and_a_ramp():
    image = random_image(120, 180, seed=4)
    yy, xx = np.mgrid[0:120, 0:180]
    distance = np.hypot(np.maximum(np.abs(xx - 90) - 20, 0), np.maximum(np.abs(yy - 60) - 15, 0))
    sigma = np.clip(distance / 24.0, 0, 1).astype(np.float32) * 10.0
    out = filters.varying_gaussian(image, sigma)
    untouched = sigma <= filters.UNTOUCHED_SIGMA
    assert untouched.any()
    np.testing.assert_array_equal(out[untouched], image[untouched])
    assert np.abs(out.astype(int) - definition(image, sigma)).max() <= 1


def test_constant_sigma_is_one_full_blur_exactly():
    image = random_image(140, 150, seed=5)
    out = filters.varying_gaussian(image, np.full((140, 150), 4.0, dtype=np.float32))
    expected = np.clip(np.rint(filters.gaussian_blur(image, 4.0)), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)


def test_result_does_not_depend_on_worker_count():
    image = random_image(300, 120, seed=6)
    sigma = smooth_sigma_field(300, 120, 0.2, 9.0)
    one = filters.varying_gaussian(image, sigma, workers=1)
    two = filters.varying_gaussian(image, sigma, workers=2)
    np.testing.assert_array_equal(one, two)


def test_blas_thread_limit_is_restored():
    from threadpoolctl import threadpool_info

    before = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    with blur.single_threaded_blas():
        with blur.single_threaded_blas():
            inside = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    after = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    assert all(n == 1 for n in inside)
    assert after == before


@pytest.mark.parametrize("with_zero", [True, False])
@pytest.mark.parametrize("low,high", [(0.001, 10.0), (0.5, 0.6), (2.0, 2.0)])
def test_level_positions_match_linear_interpolation(with_zero, low, high):
    rng = np.random.default_rng(7)
    sigma = rng.uniform(low, high, size=(40, 50)).astype(np.float32)
    sigma[0, :3] = (low, high, (low + high) / 2)
    if with_zero:
        sigma[5:9, 5:9] = 0
    levels = filters.sigma_levels(sigma)
    expected = np.interp(sigma, levels, np.arange(len(levels)))
    np.testing.assert_allclose(filters.level_positions(sigma, levels), expected, atol=2e-5)


def test_wide_images_are_cut_into_column_tiles_without_seams(monkeypatch):
    monkeypatch.setattr(blur, "TILE_COLUMNS", 40)
    monkeypatch.setattr(blur, "STRIP_ROWS", 16)
    image = random_image(50, 130, seed=8)
    assert len(blur.tiles(50, 130)) == 4 * 4
    np.testing.assert_allclose(filters.gaussian_blur(image, 6.0), scipy_blur(image, 6.0), atol=2e-3)
    sigma = smooth_sigma_field(50, 130, 0.05, 7.0)
    assert np.abs(filters.varying_gaussian(image, sigma).astype(int) - definition(image, sigma)).max() <= 1


@pytest.mark.parametrize("cols,halo", [((0, 30), 5), ((10, 40), 12), ((25, 30), 9), ((0, 30), 70)])
def test_padded_planar_mirrors_outside_and_reads_inside(cols, halo):
    image = random_image(20, 30, seed=9)
    padded = blur.padded_planar(image, (3, 11), cols, halo)
    rows = blur.reflect_indices(3 - halo, 11 + halo, 20)
    columns = blur.reflect_indices(cols[0] - halo, cols[1] + halo, 30)
    np.testing.assert_array_equal(padded, image[rows][:, columns].transpose(2, 0, 1).astype(np.float32))


def test_tile_whose_sigmas_all_round_to_one_tap():
    """A strip where every σ is below the first kernel wider than one tap, beside strips that blur."""
    image = random_image(200, 90, seed=10)
    sigma = np.full((200, 90), 6.0, dtype=np.float32)
    sigma[:100] = np.linspace(0.01, 0.1, 90, dtype=np.float32)  # kernel radius round(3σ) = 0
    out = filters.varying_gaussian(image, sigma)
    np.testing.assert_array_equal(out[:64], image[:64])  # the first strip is untouched: one-tap kernels
    assert np.abs(out.astype(int) - definition(image, sigma)).max() <= 1
