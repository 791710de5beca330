"""Bounds against amplification: settings limits, filter memory that follows the image and not σ,
cancellable filter work, the cheng2020 latent check and cheap frame counting."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from PIL import Image, TiffImagePlugin
from scipy.ndimage import gaussian_filter1d

from pgpcodec.cancel import Cancelled, CancelToken, cancellable
from pgpcodec.errors import CodecError, SettingError, UsageError
from pgpcodec.imaging import load_image
from pgpcodec.defaults import KERNEL_SIZE_LIMIT, SIGMA_MAX_LIMIT, TRUNCATE_LIMIT
from pgpcodec.prefilter import PrefilterSettings
from pgpcodec.maths import blur, filters
from pgpcodec.testing.plugin import invoke_cli


@pytest.mark.parametrize(
    "settings,setting",
    [
        ({"sigma_max": 1e300}, "sigma_max"),
        ({"sigma_max": 100000}, "sigma_max"),
        ({"sigma_max": SIGMA_MAX_LIMIT + 0.5}, "sigma_max"),
        ({"sigma_max": float("nan")}, "sigma_max"),
        ({"sigma_max": "3"}, "sigma_max"),
        ({"kernel_size": 99999999999}, "kernel_size"),
        ({"kernel_size": KERNEL_SIZE_LIMIT + 2}, "kernel_size"),
        ({"kernel_size": 11.0}, "kernel_size"),
        ({"truncate": 1e9}, "truncate"),
        ({"sigma_one": float("inf")}, "sigma_one"),
    ],
)
def test_settings_out_of_bounds_are_refused_naming_the_setting(settings, setting):
    with pytest.raises(SettingError) as info:
        PrefilterSettings(**settings)
    assert info.value.setting == setting and info.value.message.startswith(setting)


def test_the_limits_themselves_are_accepted():
    settings = PrefilterSettings(sigma_max=SIGMA_MAX_LIMIT, sigma_one=SIGMA_MAX_LIMIT, kernel_size=KERNEL_SIZE_LIMIT, truncate=TRUNCATE_LIMIT)
    # Kept as given, not clamped.
    assert (settings.sigma_max, settings.sigma_one, settings.kernel_size, settings.truncate) == (
        SIGMA_MAX_LIMIT, SIGMA_MAX_LIMIT, KERNEL_SIZE_LIMIT, TRUNCATE_LIMIT)


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--sigma-max", "100000"], "--sigma-max must be from 0 to 100, got 100000"),
        (["--sigma-max", "1e300"], "--sigma-max must be from 0 to 100, got 1e+300"),
        (["--kernel-size", "99999999999", "--profile", "reference"], "--kernel-size must be an odd number from 1 to 255"),
        (["--regions", "inf,0,10,10"], "--regions 'inf,0,10,10' has a coordinate that is not a finite number"),
    ],
)
def test_cli_names_the_flag_in_one_line_and_exits_2(tmp_path, capsys, args, expected):
    source = tmp_path / "a.png"
    Image.new("RGB", (16, 12), (90, 120, 150)).save(source)
    result = invoke_cli(
        ["encode", source, "--scorer", "regions", "--prompt-processor", "none", "--regions", "0,0,8,8", *args], capsys
    )
    assert result.exit_code == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not (tmp_path / "a.pgp.jpg").exists()


def test_folded_taps_match_hand_computed_values():
    # σ 1, truncate 2: taps a b c b a (offsets -2 … 2); one pixel mirrored repeats with period 2,
    # so the even offsets -2, 0, 2 land on the pixel itself and -1, 1 on its mirror image (the same pixel).
    a, b, c = blur.gaussian_taps(1.0, 2.0)[:3]
    folded = blur.folded_taps(1.0, 2.0, 1, 1)
    np.testing.assert_allclose(folded, [b, 2 * a + c, b], rtol=1e-6)
    # Period 4 (two pixels), radius 2: no two taps are 4 apart, so folding changes nothing.
    np.testing.assert_allclose(blur.folded_taps(1.0, 2.0, 2, 2), [a, b, c, b, a], rtol=1e-6)
    # A kernel that fits is zero-padded to the radius asked for.
    np.testing.assert_allclose(blur.folded_taps(1.0, 2.0, 50, 4), [0, 0, a, b, c, b, a, 0, 0], rtol=1e-6)


def unfolded_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """The definition: the image mirrored out to the full 3σ radius (any number of folds), then the taps, in float64."""
    taps = blur.gaussian_taps(sigma, 3.0).astype(np.float64)
    radius = len(taps) // 2
    out = image.astype(np.float64)
    for axis in (0, 1):
        n = out.shape[axis]
        extended = np.take(out, blur.reflect_indices(-radius, n + radius, n), axis=axis)
        out = np.apply_along_axis(lambda line: np.convolve(line, taps, mode="valid"), axis, extended)
    return out


@pytest.mark.parametrize("height,width,sigma", [(64, 96, 300.0), (5, 7, 40.0), (1, 30, 25.0), (33, 2, 60.0)])
def test_a_kernel_wider_than_the_image_is_folded_without_changing_the_result(height, width, sigma):
    image = np.random.default_rng(1).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    np.testing.assert_allclose(filters.gaussian_blur(image, sigma), unfolded_blur(image, sigma), atol=2e-3)
    # and scipy's reflect mode, whose float64 taps differ from the engine's float32 ones by a little
    expected = gaussian_filter1d(image.astype(np.float64), sigma, axis=0, mode="reflect")
    expected = gaussian_filter1d(expected, sigma, axis=1, mode="reflect")
    np.testing.assert_allclose(filters.gaussian_blur(image, sigma), expected, atol=0.2)


def test_filter_memory_follows_the_image_not_sigma():
    image = np.random.default_rng(2).integers(0, 256, size=(64, 96, 3), dtype=np.uint8)
    sigma = np.full((64, 96), 300.0, dtype=np.float32)  # radius 900: unfolded, a 3 x 1864 x 1896 float tile (42 MB)
    sigma[:, :10] = 0.0
    tracemalloc.start()
    try:
        out = filters.varying_gaussian(image, sigma, workers=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, f"peak {peak:,} bytes for an 18 kB image"
    assert np.array_equal(out[:, :10], image[:, :10])


def test_cancelled_tiles_stop_at_the_next_tile():
    token = CancelToken()
    done = []

    def work(rows, cols):
        done.append(rows)
        token.cancel()

    with cancellable(token), pytest.raises(Cancelled):
        blur.run_tiles(640, 100, work, workers=1)  # ten strips
    assert len(done) == 1


def test_cancelled_filter_work_raises_before_blurring():
    image = np.zeros((300, 200, 3), dtype=np.uint8)
    token = CancelToken()
    token.cancel()
    with cancellable(token), pytest.raises(Cancelled):
        filters.varying_gaussian(image, np.full((300, 200), 4.0, dtype=np.float32))
    with cancellable(token), pytest.raises(Cancelled):
        filters.blockwise_gaussian(image[:280, :196], np.full((10, 7), 2.0), 28, 11)
    filters.varying_gaussian(image[:8, :8], np.full((8, 8), 1.0, dtype=np.float32))  # no token: runs


def test_cheng2020_latent_grid_must_fit_the_image():
    pytest.importorskip("compressai")
    from pgpcodec_codecs.cheng2020 import Cheng2020Codec, pack_stream, unpack_stream

    from pgpcodec.testing.codec_contract import sample_image

    codec = Cheng2020Codec(pretrained=False, threads=1)
    honest = unpack_stream(codec.encode(sample_image(64, 64), 1).data)
    assert honest["latent"] == (1, 1)
    forged = pack_stream(1, False, 0, (64, 64), (64, 64), honest["strings"])  # 64 x 64 latent for a 64 x 64 image
    with pytest.raises(CodecError, match="latent grid 64x64 .* does not fit its 64x64 image, which needs 1x1"):
        codec.decode(forged)


def many_page_tiff(pages: int) -> bytes:
    buffer = io.BytesIO()
    first = Image.new("RGB", (1, 1), (10, 20, 30))
    first.save(buffer, format="TIFF", save_all=True, append_images=[Image.new("RGB", (1, 1))] * (pages - 1))
    return buffer.getvalue()


def test_a_many_page_tiff_is_not_walked_to_count_its_pages(monkeypatch):
    data = many_page_tiff(500)
    visited = []
    original = TiffImagePlugin.TiffImageFile._seek

    def counting(self, frame):
        visited.append(frame)
        return original(self, frame)

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "_seek", counting)
    array, notes = load_image(data)
    assert array.shape == (1, 1, 3) and array[0, 0].tolist() == [10, 20, 30]
    assert max(visited) <= 1, f"pages visited up to {max(visited)}"
    assert any("2 or more frames" in note for note in notes)


def test_single_frame_images_get_no_frame_note():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="TIFF")
    assert not any("frame" in note for note in load_image(buffer.getvalue())[1])


def test_setting_error_is_a_usage_error_with_exit_code_2():
    error = SettingError("sigma_max", "must be small")
    assert isinstance(error, UsageError) and error.exit_code == 2
    assert error.message == "sigma_max must be small" and error.parameter == "sigma_max"
    from pgpcodec.cli import describe

    assert describe(error) == ("--sigma-max must be small", None)  # the CLI names the setting by its flag
