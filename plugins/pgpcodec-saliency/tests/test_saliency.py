import numpy as np
import pytest

from pgpcodec.testing.scorer_contract import ScorerContractTests
from pgpcodec_saliency import SpectralResidualScorer
from pgpcodec_saliency.spectral import saliency_scores, spectral_residual, to_gray, working_grid_shape


class TestSpectralResidualContract(ScorerContractTests):
    scorer_name = "spectral-residual"


def test_impulse_has_flat_spectrum_so_its_saliency_is_the_impulse():
    # |FFT(delta)| = 1 everywhere: log amplitude 0, residual 0, and the
    # inverse transform of exp(i * phase) is the impulse itself.
    image = np.zeros((8, 8))
    image[2, 5] = 1.0
    expected = np.zeros((8, 8))
    expected[2, 5] = 1.0
    np.testing.assert_allclose(spectral_residual(image), expected, atol=1e-9)


def test_constant_image_scores_one_everywhere():
    np.testing.assert_array_equal(saliency_scores(np.full((5, 7), 42.0)), np.ones((5, 7)))


def test_single_pixel_scores_one():
    np.testing.assert_array_equal(saliency_scores(np.array([[3.0]])), np.ones((1, 1)))


def test_scores_have_mean_one_and_peak_on_the_odd_one_out():
    rng = np.random.default_rng(0)
    image = 100 + rng.normal(0, 2, (64, 64))
    image[40:46, 10:16] = 250  # a bright square on a noisy grey field
    scores = saliency_scores(image, blur=2.0)
    assert scores.mean() == pytest.approx(1.0)
    peak = np.unravel_index(np.argmax(scores), scores.shape)
    assert 37 <= peak[0] <= 49 and 7 <= peak[1] <= 19
    assert scores[40:46, 10:16].mean() > 3 * scores[:, 32:].mean()


def test_working_grid_keeps_the_longer_side_at_max_side_blocks():
    assert working_grid_shape(4000, 3000, 64) == (63, (64, 48))
    assert working_grid_shape(64, 10, 64) == (1, (64, 10))
    assert working_grid_shape(1, 1, 64) == (1, (1, 1))
    assert working_grid_shape(130, 65, 64) == (3, (44, 22))


def test_to_gray_uses_bt601_luma():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    np.testing.assert_allclose(to_gray(rgb), [[76.245, 149.685, 29.07]])


def test_grid_maps_blocks_onto_the_image():
    grid = SpectralResidualScorer().grid_for(1000, 500)
    assert grid.block == 16 and grid.shape == (32, 63) and grid.grid_size == (1008, 512)
    assert grid.image_size == (1000, 500)


def test_bad_options_are_refused():
    from pgpcodec.errors import UsageError

    with pytest.raises(UsageError):
        SpectralResidualScorer(max_side=0)
    with pytest.raises(UsageError):
        SpectralResidualScorer(blur=-1)
