import math

import numpy as np
import pytest

from pgpcodec.bench.metrics import (
    PSNR_CAP,
    area_downscale,
    context_psnr,
    context_scale_size,
    fidelity,
    masked_mse,
    psnr_from_mse,
    region_mask,
)


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


def test_area_downscale_averages_the_spans_it_covers():
    # 4 -> 2 averages pairs; 3 -> 2 weighs (2/3, 1/3) and (1/3, 2/3).
    assert area_downscale(np.array([[0.0, 2.0, 4.0, 6.0]]), (2, 1)).tolist() == [[1.0, 5.0]]
    assert area_downscale(np.array([[0.0, 3.0, 6.0]]), (2, 1)) == pytest.approx(np.array([[1.0, 5.0]]))
    assert area_downscale(np.array([[1.0, 3.0], [5.0, 7.0]]), (1, 1)).tolist() == [[4.0]]
    image = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3)
    small = area_downscale(image, (2, 3))
    assert small.shape == (3, 2, 3)
    assert small[0, 0].tolist() == pytest.approx(image[:2, :2].reshape(-1, 3).mean(axis=0).tolist())


def test_context_scale_keeps_the_aspect_and_never_upscales():
    assert context_scale_size(4000, 3000, 448) == (448, 336)
    assert context_scale_size(300, 600, 448) == (224, 448)
    assert context_scale_size(320, 240, 448) == (320, 240)


def test_context_psnr_is_outside_the_regions_after_downscaling():
    original = np.zeros((8, 8, 3), np.uint8)
    decoded = original.copy()
    decoded[:, 4:] = 10  # error only in the right half
    # Region = the left half; at 4 px long side each output pixel averages 2x2: left two columns touch the region.
    assert context_psnr(original, decoded, [(0, 0, 4, 8)], long_side=4) == pytest.approx(psnr_from_mse(100.0))
    # Error that averages out at the VLM's scale: a +-10 checkerboard outside the region.
    checker = original.astype(np.int16)
    checker[:, 4:] = 10
    checker[::2, 4::2] = 0
    checker[1::2, 5::2] = 0
    decoded = checker.astype(np.uint8)
    full = fidelity(original, decoded, [(0, 0, 4, 8)], context_size=4)
    assert full["outside_psnr"] == pytest.approx(psnr_from_mse(50.0))
    assert full["context_psnr"] == pytest.approx(psnr_from_mse(25.0))  # every 2x2 block averages 5
    # A region touching every downscaled pixel leaves no context; no regions, no context either.
    assert context_psnr(original, decoded, [(0, 0, 8, 8)], long_side=4) is None
    assert fidelity(original, decoded)["context_psnr"] is None
