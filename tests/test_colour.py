"""pgpcodec.colour against hand-computed BT.709 limited-range values."""

import numpy as np
import pytest

from pgpcodec.colour import bytes_to_planes, downsample_chroma, planes_to_bytes, rgb_to_yuv420, upsample_chroma, yuv420_to_rgb


def _flat(rgb, size=4):
    return np.tile(np.array(rgb, dtype=np.uint8), (size, size, 1))


@pytest.mark.parametrize(
    "rgb, expected",
    [
        ((255, 255, 255), (940, 512, 512)),
        ((0, 0, 0), (64, 512, 512)),
        # Red: Y' = 64 + 876 * 0.2126 = 250.2; Cr = 512 + 896 / 2 = 960; Cb = 512 - 896 * 0.2126 / (2 * 0.9278) = 409.35
        ((255, 0, 0), (250, 409, 960)),
        # Blue: Y' = 64 + 876 * 0.0722 = 127.2; Cb = 960; Cr = 512 - 896 * 0.0722 / (2 * 0.7874) = 470.92
        ((0, 0, 255), (127, 960, 471)),
    ],
)
def test_known_colours(rgb, expected):
    y, cb, cr = rgb_to_yuv420(_flat(rgb))
    assert (int(y[0, 0]), int(cb[0, 0]), int(cr[0, 0])) == expected
    assert np.array_equal(yuv420_to_rgb(y, cb, cr), _flat(rgb))


def test_downsample_is_left_sited():
    # Columns 0, 4, 8, 12: chroma 0 = .25*0 + .5*0 + .25*4 = 1 (edge clamped); chroma 1 = .25*4 + .5*8 + .25*12 = 8.
    plane = np.tile(np.array([0.0, 4.0, 8.0, 12.0]), (2, 1))
    assert np.allclose(downsample_chroma(plane), [[1.0, 8.0]])


def test_upsample_interpolates_from_sample_positions():
    plane = np.array([[0.0, 8.0], [4.0, 12.0]])
    up = upsample_chroma(plane, 4, 4)
    # Row 0 sits a quarter sample above chroma row 0 (clamped) → row 0 values; row 1 = .75*row0 + .25*row1.
    assert np.allclose(up[0], [0, 4, 8, 8])
    assert np.allclose(up[1], [1, 5, 9, 9])
    assert np.allclose(up[3], [4, 8, 12, 12])


def test_smooth_image_round_trips_closely():
    y, x = np.mgrid[0:32, 0:48]
    rgb = np.stack([x * 5, y * 7, 255 - x * 5], axis=-1).astype(np.uint8)
    error = np.abs(yuv420_to_rgb(*rgb_to_yuv420(rgb)).astype(int) - rgb)
    # The last (odd) column copies its left neighbour's chroma, so a steep ramp is off by a few levels there.
    assert error[:, :-1].max() <= 4 and error.max() <= 8
    assert error.mean() < 1.5


def test_planes_bytes_round_trip_and_size_check():
    planes = rgb_to_yuv420(_flat((10, 200, 30), 6))
    assert all(np.array_equal(a, b) for a, b in zip(bytes_to_planes(planes_to_bytes(planes), 6, 6), planes))
    with pytest.raises(ValueError):
        bytes_to_planes(planes_to_bytes(planes), 8, 6)


def test_odd_sizes_are_refused():
    with pytest.raises(ValueError):
        rgb_to_yuv420(np.zeros((3, 4, 3), np.uint8))
