import math

import numpy as np
import pytest

from pgpcodec.bench.metrics import PSNR_CAP, fidelity, masked_mse, psnr_from_mse, region_mask


def test_psnr_from_mse_hand_values():
    assert psnr_from_mse(255.0**2) == pytest.approx(0.0)
    assert psnr_from_mse(1.0) == pytest.approx(20 * math.log10(255))  # 48.13 dB
    assert psnr_from_mse(0.0) == PSNR_CAP


def test_region_mask_is_the_union_with_exclusive_ends():
    mask = region_mask(5, 4, [(0, 0, 2, 1), (1, 0, 3, 2)])
    expected = np.array(
        [[1, 1, 1, 0, 0],
         [0, 1, 1, 0, 0],
         [0, 0, 0, 0, 0],
         [0, 0, 0, 0, 0]], dtype=bool)
    assert (mask == expected).all()


def test_fidelity_separates_inside_and_outside():
    original = np.zeros((4, 4, 3), np.uint8)
    decoded = original.copy()
    decoded[2:, :] = 10  # error only outside the region (top half)
    result = fidelity(original, decoded, [(0, 0, 4, 2)])
    assert result["roi_psnr"] == PSNR_CAP
    assert result["outside_psnr"] == pytest.approx(10 * math.log10(255**2 / 100))
    assert result["psnr"] == pytest.approx(10 * math.log10(255**2 / 50))


def test_fidelity_without_regions_uses_the_whole_image():
    original = np.zeros((2, 2, 3), np.uint8)
    decoded = np.full((2, 2, 3), 2, np.uint8)
    result = fidelity(original, decoded)
    assert result["roi_psnr"] == result["psnr"] == pytest.approx(10 * math.log10(255**2 / 4))
    assert result["outside_psnr"] is None
    assert fidelity(original, decoded, [(0, 0, 2, 2)])["outside_psnr"] is None


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError):
        masked_mse(np.zeros((2, 2, 3)), np.zeros((2, 3, 3)))
