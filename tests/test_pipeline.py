import io

import numpy as np
import pytest
from PIL import Image

import pgpcodec
from pgpcodec.errors import InputError, UnknownPluginError, UsageError
from pgpcodec.interfaces import BlockGrid, ScoreMap, Scorer, SigmaField
from pgpcodec.defaults import DEFAULT_LOGIT_SCALE, DEFAULT_SIGMA_MAX, DEFAULT_SIGMA_ONE
from pgpcodec.pipeline import Pipeline
from pgpcodec.prefilter import PrefilterSettings, native_sigma
from pgpcodec.tile_scorer import TileScorer

REGION = (100, 60, 180, 140)


def test_regions_leave_region_untouched_and_save_bits(photo):
    pipe = Pipeline(scorer="regions", codec="jpeg")
    result = pipe.prefilter(photo, "What colour is the cup?", regions=[REGION])
    x0, y0, x1, y1 = REGION
    assert np.array_equal(result.image[y0:y1, x0:x1], photo[y0:y1, x0:x1])
    assert not np.array_equal(result.image, photo)
    filtered = pipe.encode(photo, "What colour is the cup?", quality=50, regions=[REGION])
    plain = pipe.encode(photo, quality=50, prefilter=False)
    assert len(filtered.data) < len(plain.data)
    assert Image.open(io.BytesIO(filtered.data)).format == "JPEG"
    assert filtered.bpp == pytest.approx(8 * len(filtered.data) / (320 * 240))
    assert set(filtered.timings) >= {"prefilter", "encode"}


def test_regions_sigma_ramps_from_zero_to_sigma_max(photo):
    result = Pipeline(scorer="regions", codec="jpeg").prefilter(photo, "", regions=[REGION])
    sigma = result.sigma_per_pixel()
    assert sigma[100, 140] == 0.0  # inside
    assert sigma[100, 100 - 8] == 0.0  # inside the 8 px margin
    assert sigma[100, 100 - 8 - 12] == pytest.approx(1.5)  # half-way up the 24 px ramp to the default σ_max 3
    assert sigma[0, 0] == pytest.approx(3.0)


# The paper's working grid for a 320x240 photo: 8x8 blocks of 56 px on a 448x448 resize
# (test_uniform_scorer_blurs_everything_with_sigma_one), so each block covers 40x30 original pixels.
PAPER_BLOCK_W, PAPER_BLOCK_H = 40, 30
# The reference profile resizes to the grid and back (bicubic), so an original pixel also reads
# grid pixels of the neighbouring block within the kernel's reach: 2 px covers 448 -> 320 bicubic.
RESIZE_REACH = 2


def _reference_against_unblurred(photo, box):
    """The reference profile's output for a ``regions`` box, and the same resize round trip unblurred.

    σ_max is the paper's largest (10): the little σ that a block at the edge of the region's
    ramp would get if it were not min-pooled (a mean gives 0.24 at the default 3) then shows.
    """
    def run(sigma_max):
        settings = PrefilterSettings(profile="reference", sigma_max=sigma_max)
        return Pipeline(scorer="regions", codec="jpeg", settings=settings).prefilter(photo, "", regions=[box]).image

    return run(10.0), run(0.0)


def _touched_blocks(box):
    """(rows, cols) ranges of the paper-grid blocks a box's pixels fall in."""
    x0, y0, x1, y1 = box
    return range(y0 // PAPER_BLOCK_H, (y1 - 1) // PAPER_BLOCK_H + 1), range(x0 // PAPER_BLOCK_W, (x1 - 1) // PAPER_BLOCK_W + 1)


def _block(image, row, col, inset=0):
    y, x = row * PAPER_BLOCK_H, col * PAPER_BLOCK_W
    return image[y + inset : y + PAPER_BLOCK_H - inset, x + inset : x + PAPER_BLOCK_W - inset]


def _assert_touched_blocks_sharp_and_far_ones_blurred(photo, box):
    filtered, unblurred = _reference_against_unblurred(photo, box)
    assert filtered.shape == photo.shape
    assert not np.array_equal(filtered, photo)
    rows, cols = _touched_blocks(box)
    # Every block touching the box is left out of the blur (σ 0 for the whole block, as the paper's
    # min-pooling gives it), not only the pixels of the box: across the whole span of touched blocks,
    # short of the resize's reach into the untouched blocks around it, nothing differs from unblurred.
    y0, y1 = rows.start * PAPER_BLOCK_H + RESIZE_REACH, rows.stop * PAPER_BLOCK_H - RESIZE_REACH
    x0, x1 = cols.start * PAPER_BLOCK_W + RESIZE_REACH, cols.stop * PAPER_BLOCK_W - RESIZE_REACH
    assert np.array_equal(filtered[y0:y1, x0:x1], unblurred[y0:y1, x0:x1])
    # Blocks beyond the region's 8 px margin and 24 px σ ramp (at most two blocks away) are blurred.
    far = [(r, c) for r in range(240 // PAPER_BLOCK_H) for c in range(320 // PAPER_BLOCK_W)
           if r not in range(rows.start - 2, rows.stop + 2) or c not in range(cols.start - 2, cols.stop + 2)]
    assert far
    for r, c in far:
        assert not np.array_equal(_block(filtered, r, c, RESIZE_REACH), _block(unblurred, r, c, RESIZE_REACH)), (r, c)


def test_reference_profile_with_regions_keeps_blocks_touching_the_region_sharp(photo):
    # REGION covers only part of its edge blocks (x 100..180 against columns from 80 to 200).
    _assert_touched_blocks_sharp_and_far_ones_blurred(photo, REGION)


@pytest.mark.parametrize("box", [(45, 35, 50, 40), (79, 29, 81, 31), (300, 200, 320, 240)])
def test_reference_profile_keeps_a_whole_block_sharp_for_a_box_touching_part_of_it(photo, box):
    # A few pixels inside one block, a box straddling a corner of four blocks, a box in the corner block.
    _assert_touched_blocks_sharp_and_far_ones_blurred(photo, box)


def test_uniform_scorer_blurs_everything_with_sigma_one(photo):
    result = Pipeline(scorer="uniform", codec="jpeg").prefilter(photo, "anything")
    assert np.allclose(result.sigma_field.sigma, 0.2)  # the paper's σ_1
    # 448x448 working size: strides 56, 112, 224 give 25, 9, 4 tiles; 25 is closest to 24.
    assert result.score_map.grid == BlockGrid(56, (448, 448), (320, 240))


def test_native_sigma_is_continuous_across_block_borders():
    grid = BlockGrid(56, (224, 112), (224, 112))
    sigma = np.array([[1.0, 9.0, 1.0, 9.0], [9.0, 1.0, 9.0, 1.0]])
    per_pixel = native_sigma(SigmaField(sigma, grid))
    assert per_pixel.shape == (112, 224)
    assert np.abs(np.diff(per_pixel, axis=1)).max() <= 8 / 56 + 1e-6
    assert np.abs(np.diff(per_pixel, axis=0)).max() <= 8 / 56 + 1e-6


def test_native_sigma_scales_grid_pixels_to_image_pixels():
    # The grid is the 448x448 upscaled image of a 224x224 photo: sigma halves.
    field = SigmaField(np.full((4, 4), 4.0), BlockGrid(112, (448, 448), (224, 224)))
    assert np.allclose(native_sigma(field), 2.0)


class PromptEcho(Scorer):
    """A prompt-guided scorer for tests: records what text it was given."""

    name = "echo"

    def __init__(self):
        self.seen = []

    def score(self, image, prompt, *, regions=()):
        self.seen.append(prompt)
        h, w = image.shape[:2]
        return ScoreMap(np.ones((h, w)), BlockGrid(1, (w, h), (w, h)), prompt_used=prompt)


def test_empty_prompt_with_prompt_guided_scorer_is_an_input_error(photo):
    pipe = Pipeline(scorer=PromptEcho(), codec="jpeg", prompt_processor="none")
    for prompt in ("", "   \n\t"):
        with pytest.raises(InputError, match="prompt is empty"):
            pipe.prefilter(photo, prompt)


def test_prompt_processor_output_reaches_the_scorer(photo):
    scorer = PromptEcho()
    Pipeline(scorer=scorer, codec="jpeg", prompt_processor="nltk").prefilter(
        photo, "Is the woman in the image smiling? Please answer yes or no."
    )
    assert scorer.seen == ["woman image smiling"]


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(UnknownPluginError, match="valid names: .*jpeg"):
        Pipeline(scorer="regions", codec="nope")
    with pytest.raises(UnknownPluginError, match="regions"):
        Pipeline(scorer="nope", codec="jpeg")


def test_settings_are_validated():
    with pytest.raises(UsageError):
        PrefilterSettings(profile="fast")
    with pytest.raises(UsageError):
        PrefilterSettings(kernel_size=4)
    with pytest.raises(UsageError):
        PrefilterSettings(sigma_max=2.0, sigma_one=3.0)


def test_quality_out_of_range(photo):
    pipe = Pipeline(scorer="regions", codec="jpeg")
    with pytest.raises(UsageError, match="out of range"):
        pipe.encode(photo, quality=101, prefilter=False)


def test_api_encode_accepts_paths_and_arrays(photo_path, photo):
    a = pgpcodec.encode(str(photo_path), scorer="regions", codec="webp", quality=40, regions=[REGION])
    b = pgpcodec.encode(photo, scorer="regions", codec="webp", quality=40, regions=[REGION])
    assert a.data == b.data and a.codec == "webp"


def test_with_settings_shares_plugins(photo):
    pipe = Pipeline(scorer="uniform", codec="jpeg")
    reference = pipe.with_settings(profile="reference")
    assert reference.scorer is pipe.scorer and reference.settings.profile == "reference"
    assert not np.array_equal(reference.prefilter(photo, "x").image, pipe.prefilter(photo, "x").image)


def test_the_prompt_processor_is_loaded_only_for_a_scorer_that_uses_the_prompt(photo, monkeypatch):
    from pgpcodec_scorers import prompts

    built = []
    monkeypatch.setattr(prompts.NltkPromptProcessor, "__init__", lambda self: built.append(self) or setattr(self, "table", None))
    pipe = Pipeline(scorer="regions", codec="jpeg", prompt_processor="nltk")  # regions ignores the prompt
    pipe.encode(photo, "What colour is the cup?", quality=50, regions=[REGION])
    assert built == [] and pipe.prompt_processor == "nltk"
    with pytest.raises(UnknownPluginError, match="prompt processor 'nope'"):
        Pipeline(scorer="regions", codec="jpeg", prompt_processor="nope")  # a mistyped name is still reported
    Pipeline(scorer=PromptEcho(), codec="jpeg", prompt_processor="nltk")
    assert len(built) == 1


def test_a_prompt_free_cli_run_never_imports_nltk(tmp_path, photo_path):
    import subprocess
    import sys

    code = (
        "import sys; from pgpcodec.cli import main\n"
        "try:\n"
        f"    main(['encode', {str(photo_path)!r}, '--scorer', 'regions', '--regions', '10,10,90,90', '-p', 'What is it?',"
        f" '-o', {str(tmp_path / 'out.jpg')!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nltk', 'scipy')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "out.jpg").is_file()


class _SimilarityScorer(TileScorer):
    """Tile scorer without a model: a tile's embedding is its mean red level (enough for the softmax)."""

    name = "similarity"

    def embed_tiles(self, tiles):
        red = tiles[:, 0].mean(axis=(1, 2))
        return np.stack([red, np.ones_like(red)], axis=1)

    def embed_text(self, text):
        return np.array([1.0, 0.0])


def test_defaults_are_the_papers_operating_point():
    settings = PrefilterSettings()
    assert (settings.logit_scale, settings.sigma_max, settings.kernel_size) == (20.0, 3.0, 11)
    assert DEFAULT_SIGMA_ONE == 0.2 and DEFAULT_LOGIT_SCALE == 20.0 and DEFAULT_SIGMA_MAX == 3.0
    assert _SimilarityScorer().logit_scale == DEFAULT_LOGIT_SCALE  # tile scorers take the same default


def test_the_settings_logit_scale_reaches_tile_scorers_without_touching_the_given_one(photo):
    scorer = _SimilarityScorer()
    photo = photo.copy()
    photo[:, :160, 0] = 255  # the left half is far redder: its tiles score higher
    sharp = Pipeline(scorer=scorer, codec="jpeg", prompt_processor="none", settings=PrefilterSettings(logit_scale=50))
    assert sharp.scorer.logit_scale == 50.0 and scorer.logit_scale == 20.0
    assert Pipeline(scorer=scorer, codec="jpeg", prompt_processor="none").scorer is scorer  # same α: no copy
    mild = sharp.with_settings(logit_scale=5)
    assert mild.scorer.logit_scale == 5.0 and sharp.scorer.logit_scale == 50.0
    spread = [p.prefilter(photo, "red").score_map.tile_scores for p in (sharp, mild)]
    assert np.ptp(spread[0]) > np.ptp(spread[1])  # a larger α gives sharper relevance


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf")])
def test_a_bad_logit_scale_is_a_usage_error(value):
    with pytest.raises(UsageError, match="logit_scale"):
        PrefilterSettings(logit_scale=value)


def test_logit_scale_as_a_scorer_option_points_to_the_setting():
    with pytest.raises(UsageError, match="filter setting"):
        Pipeline(scorer="uniform", codec="jpeg", prompt_processor="none", scorer_options={"logit_scale": 50})


def test_the_one_shot_api_takes_the_logit_scale_as_a_setting(photo):
    with pytest.raises(UsageError, match="logit_scale"):
        pgpcodec.encode(photo, scorer="regions", regions=[REGION], logit_scale=0)
    assert pgpcodec.encode(photo, scorer="regions", regions=[REGION], quality=50, logit_scale=50).data


def test_a_ready_prefilter_refuses_settings_it_would_otherwise_drop():
    from pgpcodec.prefilter import Prefilter

    ready = Prefilter("uniform", prompt_processor="none")
    for extra in ({"settings": PrefilterSettings(sigma_max=5)}, {"fit": "max-side:64"}, {"scorer_options": {"x": 1}}, {"prompt_processor": "none"}):
        with pytest.raises(UsageError, match="cannot be given with a ready Prefilter") as caught:
            Pipeline(ready, "jpeg", **extra)
        assert caught.value.parameter == next(iter(extra))
    assert Pipeline(ready, "jpeg").prefilter is ready


def test_the_one_cache_shares_a_scorer_and_keeps_rules_that_share_a_name_apart():
    from pgpcodec.fit import FitRule
    from pgpcodec.loaded import Loaded

    loaded = Loaded()
    small = FitRule("mine", "to 32 px", lambda w, h: (32, 32 * h // w))
    large = FitRule("mine", "to 64 px", lambda w, h: (64, 64 * h // w))
    first, second = loaded.prefilter("uniform", prompt_processor="none", fit=small), loaded.prefilter("uniform", prompt_processor="none", fit=large)
    assert first is not second and first.fit is small and second.fit is large
    assert first.scorer is second.scorer  # one model, whatever the fit
    assert loaded.prefilter("uniform", prompt_processor="none", fit=small) is first
    assert loaded.prefilter("uniform", prompt_processor="none", fit="max-side:64") is loaded.prefilter("uniform", prompt_processor="none", fit="max-side:64")
