"""The test kit itself: the contracts catch broken plugins, and the fixtures give what they promise."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pgpcodec.interfaces import BlockGrid, Codec, ScoreMap, Scorer
from pgpcodec.testing.codec_contract import CodecContractTests
from pgpcodec.testing.samples import SAMPLE_MODES, sample_image
from pgpcodec.testing.scorer_contract import ScorerContractTests
from pgpcodec_codecs.pillow import JpegCodec
from pgpcodec_scorers.basic import UniformScorer


class OnesScorer(Scorer):
    """Correct: one block per pixel, all ones. Subclasses break one rule each."""

    name = "ones"
    prompt_guided = False

    def values(self, image, prompt):
        return np.ones(image.shape[:2])

    def score(self, image, prompt, *, regions=()):
        height, width = image.shape[:2]
        return ScoreMap(self.values(image, prompt), BlockGrid(1, (width, height), (width, height)))


class NegativeScorer(OnesScorer):
    def values(self, image, prompt):
        return -np.ones(image.shape[:2])


class NanOnFlatScorer(OnesScorer):
    def values(self, image, prompt):
        spread = np.ptp(image)
        return np.full(image.shape[:2], 1.0 / spread if spread else np.nan)


class RandomScorer(OnesScorer):
    def values(self, image, prompt):
        return np.random.default_rng().random(image.shape[:2]) + 0.1


class PromptSensitiveScorer(OnesScorer):
    def values(self, image, prompt):
        return np.full(image.shape[:2], float(len(prompt)))


class ScribblingScorer(OnesScorer):
    def values(self, image, prompt):
        image[0, 0] = 255 - image[0, 0]
        return np.ones(image.shape[:2])


class WrongSizeScorer(OnesScorer):
    def score(self, image, prompt, *, regions=()):
        height, width = image.shape[:2]
        return ScoreMap(np.ones((height, width)), BlockGrid(1, (width, height), (width + 1, height)))


class SmallImageCrashScorer(OnesScorer):
    def values(self, image, prompt):
        if min(image.shape[:2]) < 4:
            raise ValueError("image too small")
        return np.ones(image.shape[:2])


def failing_contract_tests(contract_class, subject, factory_name: str, name_attribute: str) -> list[str]:
    """Names of the contract's tests that fail (raise anything, or pytest.fail) for ``subject``."""
    attributes = {factory_name: lambda self: subject, name_attribute: subject.name, "huge_size": (300, 200)}
    contract = type("Contract", (contract_class,), attributes)()
    failed = []
    for name in sorted(n for n in dir(contract) if n.startswith("test_")):
        try:
            getattr(contract, name)()
        except pytest.skip.Exception:
            pass
        except (Exception, pytest.fail.Exception):
            failed.append(name)
    return failed


def run_scorer_contract(scorer: Scorer) -> list[str]:
    return failing_contract_tests(ScorerContractTests, scorer, "make_scorer", "scorer_name")


def test_a_correct_scorer_passes_the_contract():
    assert run_scorer_contract(OnesScorer()) == []


@pytest.mark.parametrize(
    "scorer, expected",
    [
        (NegativeScorer(), "test_score_map_shape_and_positivity"),
        (NanOnFlatScorer(), "test_constant_images"),
        (RandomScorer(), "test_deterministic"),
        (PromptSensitiveScorer(), "test_prompt_ignored_when_not_guided"),
        (ScribblingScorer(), "test_input_untouched"),
        (WrongSizeScorer(), "test_score_map_shape_and_positivity"),
        (SmallImageCrashScorer(), "test_tiny_images"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Scorer) else None,
)
def test_the_scorer_contract_catches_each_broken_rule(scorer, expected):
    assert expected in run_scorer_contract(scorer)


class NoisyJpeg(JpegCodec):
    """Non-deterministic output: a random comment in every file."""

    def _encode(self, image, quality):
        data = super()._encode(image, quality)
        return data[:2] + b"\xff\xfe\x00\x06" + os.urandom(4) + data[2:]


class GreedyJpeg(JpegCodec):
    def accepts(self, data):
        return True


class CrashingDecodeJpeg(JpegCodec):
    def decode(self, data):
        raise IndexError("boom")


class FixedSizeJpeg(JpegCodec):
    def _encode(self, image, quality):
        return super()._encode(image, 50)


def run_codec_contract(codec: Codec) -> list[str]:
    return failing_contract_tests(CodecContractTests, codec, "make_codec", "codec_name")


def test_a_correct_codec_passes_the_contract():
    assert run_codec_contract(JpegCodec()) == []


@pytest.mark.parametrize(
    "codec, expected",
    [
        (NoisyJpeg(), "test_deterministic"),
        (GreedyJpeg(), "test_accepts_own_output"),
        (CrashingDecodeJpeg(), "test_garbage_is_a_codec_error"),
        (FixedSizeJpeg(), "test_worst_quality_is_smaller"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Codec) else None,
)
def test_the_codec_contract_catches_each_broken_rule(codec, expected):
    assert expected in run_codec_contract(codec)


def test_sample_images_are_deterministic_and_independent_copies():
    a = sample_image(50, 40, seed=1)
    b = sample_image(50, 40, seed=1)
    np.testing.assert_array_equal(a, b)
    a[:] = 0
    assert sample_image(50, 40, seed=1).any()
    assert not np.array_equal(sample_image(50, 40, seed=1), sample_image(50, 40, seed=2))
    assert a.shape == (40, 50, 3) and b.dtype == np.uint8


def test_every_sample_file_loads_as_rgb(pgpcodec_image_file):
    from PIL import Image

    from pgpcodec.imaging import load_image

    with Image.open(pgpcodec_image_file) as img:
        mode, size = img.mode, img.size
    assert mode in SAMPLE_MODES
    array, _ = load_image(pgpcodec_image_file)
    assert array.shape == (size[1], size[0], 3) and array.dtype == np.uint8


def test_isolated_moves_user_dirs_and_clears_settings(monkeypatch, request):
    monkeypatch.setenv("PGPCODEC_LOAD_PLUGINS", "")
    home = request.getfixturevalue("pgpcodec_isolated")
    assert "PGPCODEC_LOAD_PLUGINS" not in os.environ
    import platformdirs

    assert platformdirs.user_cache_dir("pgpcodec").startswith(str(home))
    assert platformdirs.user_data_dir("pgpcodec").startswith(str(home))


def test_registry_fixture_loads_the_builtins(pgpcodec_registry):
    assert {"jpeg", "webp"} <= set(pgpcodec_registry.names("codec"))
    assert isinstance(pgpcodec_registry.create("scorer", "uniform"), UniformScorer)


def test_cli_fixture_reports_exit_code_and_streams(pgpcodec_cli):
    ok = pgpcodec_cli("plugins", "--json")
    assert ok.exit_code == 0 and ok.stdout.lstrip().startswith("[") and ok.stderr == ""
    bad = pgpcodec_cli("encode", "/no/such/file.png", "--scorer", "uniform", "--prompt-processor", "none")
    assert bad.exit_code != 0 and "no such file" in bad.stderr
