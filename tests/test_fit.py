"""--fit: the VLM resize rules (hand-computed values), regions mapping, no upscaling, the hook, CLI and API."""

import json
import random
import types

import numpy as np
import pytest
from PIL import Image

from pgpcodec import hookimpl
from pgpcodec.errors import UsageError
from pgpcodec.fit import (
    FitRule,
    apply_fit,
    downscale,
    map_box,
    max_pixels,
    max_side,
    resolve,
)
from pgpcodec.plugins import PluginRegistry
from pgpcodec_fit_targets import NAMES
from pgpcodec_fit_targets.rules import (
    BUILTIN_RULES,
    claude_standard,
    internvl_grid,
    internvl_send,
    internvl_view,
    llava_best_resolution,
    llava_onevision_view,
    openai_high_detail,
    qwen_smart_resize,
)


# -- the rules against values worked out by hand -------------------------------


def test_qwen_smart_resize_shrinks_to_max_pixels_in_multiples_of_28():
    # 4032x3024 rounds to itself (144x108 patches of 28) = 12.19 MP > 1,003,520;
    # beta = sqrt(12192768 / 1003520) = 3.4857: floor(1156.7/28)*28 = 1148, floor(867.5/28)*28 = 840.
    assert qwen_smart_resize(4032, 3024) == (1148, 840)


def test_qwen_smart_resize_rounds_small_images_and_grows_tiny_ones():
    assert qwen_smart_resize(1000, 700) == (1008, 700)  # round(35.7)*28, 25*28
    # 40x30 rounds to 28x28 < 3136 px: beta = sqrt(3136/1200) = 1.6166 -> ceil(2.31)*28, ceil(1.73)*28
    assert qwen_smart_resize(40, 30) == (84, 56)
    assert qwen_smart_resize(5, 400) == (5, 400)  # the processor refuses sides under 10 px


def test_openai_high_detail_follows_the_documented_examples():
    assert openai_high_detail(1024, 1024) == (768, 768)
    assert openai_high_detail(2048, 4096) == (768, 1536)  # 1024x2048 in the box, then short side 768
    assert openai_high_detail(4096, 8192) == (768, 1536)
    assert openai_high_detail(700, 500) == (700, 500)


def test_claude_matches_the_documented_largest_unresized_sizes():
    # Anthropic's table: 1:1 1092x1092, 2:3 896x1344, 9:16 819x1456, 1:2 784x1568.
    assert claude_standard(4000, 4000) == (1092, 1092)  # 39*39 = 1521 tokens; 1093 would need 40*40
    assert claude_standard(2000, 3000) == (896, 1344)
    assert claude_standard(1080, 1920) == (819, 1456)
    assert claude_standard(2000, 1000) == (1568, 784)  # 56*28 = 1568 tokens exactly
    assert claude_standard(800, 600) == (800, 600)  # 29*22 = 638 tokens: not resized


def test_internvl_picks_the_closest_grid_of_at_most_12_tiles():
    assert internvl_grid(4032, 3024) == (4, 3)  # 4:3 exactly, 12 tiles
    assert internvl_grid(2560, 1600) == (3, 2)  # 1.6: 3/2 is closest (5/3 would be 15 tiles)
    assert internvl_grid(1000, 1000) == (3, 3)  # ties 1:1, 2:2, 3:3: area 1e6 > 0.5*448^2*9 keeps 3x3
    assert internvl_grid(600, 600) == (1, 1)  # area 360000 is not > 0.5*448^2*4 = 401408: 2x2 loses the tie
    assert internvl_view(4032, 3024) == (1792, 1344)


def test_internvl_send_keeps_the_aspect_ratio_and_covers_the_grid():
    # 2560x1600 -> grid 1344x896; scale = max(1344/2560, 896/1600) = 0.56 -> 1434x896
    assert internvl_send(2560, 1600) == (1434, 896)


def test_llava_onevision_fits_inside_the_best_pinpoint():
    # (h, w) = (1920, 2304): scale min(2304/4032, 1920/3024) = 0.5714 keeps all 2304x1728 pixels, least waste.
    assert llava_best_resolution(4032, 3024) == (1920, 2304)
    assert llava_onevision_view(4032, 3024) == (2304, 1728)
    assert llava_onevision_view(640, 427) == (768, 513)  # the processor would upscale a small photo


def test_plain_bounds():
    assert max_side(4000, 3000, 1000) == (1000, 750)
    assert max_side(800, 600, 1000) == (800, 600)
    # sqrt(1e6 / 12e6) = 0.288675: floor(1154.7), floor(866.03); 1154*866 = 999,364 <= 1e6
    assert max_pixels(4000, 3000, 1_000_000) == (1154, 866)


def test_every_builtin_fit_is_seen_by_its_model_as_the_original_would_be():
    """What pgpcodec sends, resized by the model's own rule, is what the original would become."""
    rng = random.Random(3)
    for rule in BUILTIN_RULES.values():
        for _ in range(400):
            width, height = rng.randint(300, 8000), rng.randint(300, 8000)
            if max(width, height) / min(width, height) > 6:
                continue
            fitted, kept = rule.fitted_size(width, height)
            if not kept:
                assert rule.view_size(*fitted) == rule.view_size(width, height), (rule.name, width, height, fitted)


# -- applying a fit ----------------------------------------------------------------


def test_map_box_scales_each_axis_and_covers_the_region():
    # sx = 1260/2560 = 0.4921875, sy = 784/1600 = 0.49
    assert map_box((1640, 680, 1940, 980), (2560, 1600), (1260, 784)) == (807, 333, 955, 481)
    assert map_box((10, 10, 11, 11), (1000, 1000), (10, 10)) == (0, 0, 1, 1)  # never empty


def test_apply_fit_never_upscales_and_says_so(photo):
    fitted = apply_fit(photo, resolve("llava-onevision"), [(0, 0, 10, 10)])
    assert fitted.image is photo and fitted.fitted_size == (320, 240)
    assert fitted.regions == ((0, 0, 10, 10),)
    assert len(fitted.notes) == 1 and "would upscale" in fitted.notes[0] and "left as it is" in fitted.notes[0]


def test_apply_fit_downscales_and_maps_regions(photo):
    fitted = apply_fit(photo, resolve("max-side:160"), [(160, 120, 320, 240)])
    assert fitted.image.shape == (120, 160, 3) and fitted.original_size == (320, 240)
    assert fitted.regions == ((80, 60, 160, 120),) and fitted.notes == ()


def test_downscale_is_anti_aliased():
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: a point sampler gives all black or all white
    small = downscale(stripes, (16, 16)).astype(float)
    inner = small[2:-2, 2:-2]  # Lanczos rings a little at the borders
    assert abs(inner.mean() - 127.5) < 3 and inner.std() < 3  # a point sampler: std 127.5


# -- targets: names, bounds, the hook ----------------------------------------------


@pytest.mark.parametrize(
    "target, words",
    [
        ("nope", ["unknown fit target 'nope'", "claude", "qwen2.5-vl", "max-side:N"]),
        ("max-side:0", ["max-side:0", ">= 1"]),
        ("max-side:-5", ["max-side:-5", ">= 1"]),
        ("max-side:abc", ["max-side:abc"]),
        ("max-pixels:50175", ["50,176", "224-px tile"]),
    ],
)
def test_bad_targets_are_one_clear_usage_error(target, words):
    with pytest.raises(UsageError) as info:
        resolve(target)
    text = f"{info.value.message} {info.value.hint or ''}"
    assert all(word in text for word in words), text


def test_max_pixels_of_one_tile_is_accepted():
    assert resolve("max-pixels:50176").view_size(1000, 1000) == (224, 224)


def test_a_plugin_adds_a_fit_target_through_the_hook():
    plugin = types.ModuleType("fake_fit_plugin")

    @hookimpl
    def register_fit_targets(register):
        register("square-256", lambda: FitRule("square-256", "256x256", lambda w, h: (256, 256)))

    plugin.register_fit_targets = register_fit_targets
    registry = PluginRegistry(entry_points_=[], modules=[plugin])
    assert registry.names("fit_target") == ["square-256"]
    rule = resolve("square-256", registry)
    assert rule.fitted_size(1000, 500) == ((256, 256), False)
    assert rule.fitted_size(100, 500) == ((100, 256), True)


def test_builtin_targets_load_through_the_entry_point(pgpcodec_registry):
    assert set(NAMES) == set(BUILTIN_RULES)  # the hook registers exactly the table
    assert set(BUILTIN_RULES) <= set(pgpcodec_registry.names("fit_target"))


# -- Python API ------------------------------------------------------------------------


def test_pipeline_fits_before_scoring_and_records_both_sizes(photo):
    from pgpcodec.pipeline import Pipeline

    pipe = Pipeline(scorer="regions", codec="jpeg", fit="max-side:160")
    result = pipe.prefilter(photo, regions=[(0, 0, 160, 120)])
    assert result.image.shape == (120, 160, 3) and result.original_size == (320, 240)
    sigma = result.sigma_per_pixel()
    assert sigma[10, 10] < sigma[110, 150]  # the mapped region (0, 0, 80, 60) stays sharp
    encoded = pipe.encode_filtered(result, 50)
    assert (encoded.width, encoded.height, encoded.original_width, encoded.original_height) == (160, 120, 320, 240)
    plain = pipe.encode(photo, quality=50, prefilter=False)
    assert plain.to_dict()["original_width"] == 320 and plain.to_dict()["width"] == 160 and plain.fit == "max-side:160"


def test_one_shot_encode_takes_fit(photo):
    import pgpcodec

    encoded = pgpcodec.encode(photo, scorer="uniform", quality=50, fit="gpt-4o")
    assert (encoded.width, encoded.original_width, encoded.fit) == (320, 320, "gpt-4o")  # small: not upscaled


# -- CLI -----------------------------------------------------------------------------------


@pytest.fixture
def big_photo(tmp_path):
    from pgpcodec.testing.samples import sample_image

    path = tmp_path / "big.png"
    Image.fromarray(sample_image(1600, 1200)).save(path)
    return path


def test_cli_encode_json_shows_original_and_fitted_size(run_cli, big_photo, tmp_path):
    code, out, err = run_cli("encode", big_photo, "-o", tmp_path / "o.jpg", "--scorer", "regions",
                             "--regions", "0,0,800,600", "--fit", "qwen2.5-vl", "--json")
    assert code == 0, err
    info = json.loads(out)
    # 1600x1200: beta = sqrt(1.92e6/1003520) = 1.3832 -> floor(41.3)*28 = 1148, floor(30.98)*28 = 840
    assert (info["original_width"], info["original_height"], info["width"], info["height"]) == (1600, 1200, 1148, 840)
    assert info["fit"] == "qwen2.5-vl"
    assert Image.open(tmp_path / "o.jpg").size == (1148, 840)


def test_cli_line_shows_both_sizes_and_the_upscale_note(run_cli, photo_path, big_photo, tmp_path):
    code, _, err = run_cli("encode", big_photo, "-o", tmp_path / "a.jpg", "--no-prefilter", "--fit", "max-side:400")
    assert code == 0 and "1600x1200 -> 400x300 (fit max-side:400)" in err
    code, _, err = run_cli("encode", photo_path, "-o", tmp_path / "b.jpg", "--scorer", "uniform", "--fit", "internvl3")
    assert code == 0 and "320x240 -> 320x240" in err and "would upscale" in err


def test_cli_prefilter_fits_too(run_cli, big_photo, tmp_path):
    code, _, err = run_cli("prefilter", big_photo, "-o", tmp_path / "f.png", "--scorer", "uniform", "--fit", "claude")
    assert code == 0, err
    assert Image.open(tmp_path / "f.png").size == claude_standard(1600, 1200) and "-> " in err


@pytest.mark.parametrize("target", ["unknown-model", "max-side:0", "max-side:-3", "max-pixels:100"])
def test_cli_bad_fit_target_is_one_line(run_cli, photo_path, tmp_path, target):
    code, out, err = run_cli("encode", photo_path, "-o", tmp_path / "x.jpg", "--scorer", "uniform", "--fit", target)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "x.jpg").exists()


def test_cli_max_pixels_still_refuses_large_inputs(run_cli, big_photo, tmp_path):
    code, _, err = run_cli("encode", big_photo, "-o", tmp_path / "x.jpg", "--scorer", "uniform",
                           "--fit", "max-side:100", "--max-pixels", "1000")
    assert code != 0 and "pixel" in err.lower()


# -- bench variants --------------------------------------------------------------------------


def test_bench_fit_variants_fit_map_regions_and_restore(pgpcodec_registry):
    from pgpcodec.bench.dataset import Row
    from pgpcodec.bench.variants import VariantFactory, build_variants
    from pgpcodec.testing.samples import sample_image

    image = sample_image(320, 240)
    row = Row(id="r", image=None, prompt="", regions=((0, 0, 160, 120),))
    (plain, fit, fit_pre), skipped = build_variants(
        ["fit:max-side:160", "prefilter+fit:max-side:160"], VariantFactory("regions", pgpcodec_registry)
    )
    assert not skipped and fit.settings["fit"] == "max-side:160" and fit.family == "fit"
    small = fit.prepare(image, row)
    assert small.shape == (120, 160, 3)
    assert fit.restore(small, (320, 240)).shape == (240, 320, 3)
    filtered = fit_pre.prepare(image, row)
    assert filtered.shape == (120, 160, 3)
    sharp = np.abs(filtered[:60, :80].astype(int) - small[:60, :80]).mean()  # the mapped region
    blurred = np.abs(filtered[60:, 80:].astype(int) - small[60:, 80:]).mean()
    assert sharp < 1 < blurred
    with pytest.raises(UsageError, match="unknown fit target"):
        VariantFactory("regions", pgpcodec_registry).build("fit:nosuchmodel")


def test_bench_fit_interpolates_bytes_at_a_psnr_level():
    import importlib.util
    from pathlib import Path

    from pgpcodec.bench.bdrate import Point

    spec = importlib.util.spec_from_file_location("bench_fit", Path(__file__).parents[1] / "benchmarks" / "bench_fit.py")
    bench_fit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_fit)

    def point(bpp, score):
        return Point(0, 1, bpp, score, score, score, None)

    curve = [point(0.1, 30.0), point(0.4, 40.0), point(0.5, 39.0), point(1.6, 50.0)]
    assert [p.bpp for p in bench_fit.monotone(curve)] == [0.1, 0.4, 1.6]  # 0.5 bpp is dominated
    # log-bpp halfway between 0.1 and 0.4 at 35 dB: exp((ln 0.1 + ln 0.4) / 2) = 0.2
    assert bench_fit.bpp_at(curve, 35.0) == pytest.approx(0.2)
    assert bench_fit.bpp_at(curve, 45.0) == pytest.approx(0.8)  # halfway between 0.4 and 1.6
    assert bench_fit.bpp_at(curve, 55.0) is None
