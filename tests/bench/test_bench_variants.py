import types

import numpy as np
import pytest

from pgpcodec import hookimpl
from pgpcodec.bench.dataset import Row
from pgpcodec.bench.variants import Skipped, VariantFactory, build_variants, downsampled_size
from pgpcodec.errors import ModelNotFoundError, UsageError
from pgpcodec.plugins import PluginRegistry
from pgpcodec.testing.samples import sample_image


@pytest.fixture(scope="module")
def registry():
    def missing_model(**options):
        raise ModelNotFoundError("model 'fake' is not installed", "run pgpcodec models install fake")

    plugin = types.ModuleType("fake_scorers")
    plugin.register_scorers = hookimpl(lambda register: register("needs-model", missing_model))
    return PluginRegistry(modules=[plugin])


ROW = Row(id="r", image=None, prompt="Is there a disc?", regions=((10, 10, 40, 30),))


def build(registry, *specs, scorer="regions"):
    return build_variants(list(specs), VariantFactory(scorer, registry))


def test_plain_comes_first_and_duplicates_collapse(registry):
    variants, skipped = build(registry, "prefilter", "gaussian:1", "prefilter")
    assert [v.name for v in variants] == ["plain", "prefilter", "gaussian:1"]
    assert not skipped


def test_prefilter_keeps_the_regions_and_blurs_the_rest(registry):
    image = sample_image(64, 48, 3)
    (_, native, reference), _ = build(registry, "prefilter", "prefilter@reference")
    filtered = native.prepare(image, ROW)
    assert (filtered[10:30, 10:40] == image[10:30, 10:40]).all()
    assert np.abs(filtered[40:, 50:].astype(int) - image[40:, 50:]).mean() > 3
    assert native.settings["profile"] == "native" and reference.settings["profile"] == "reference"
    assert not (reference.prepare(image, ROW) == filtered).all()
    # rows differing only in prompt share the prepared image of a prompt-free scorer
    assert native.inputs(ROW) == native.inputs(Row(id="s", image=None, prompt="other", regions=ROW.regions))


def test_baselines(registry):
    image = sample_image(60, 45, 4)
    (_, gaussian, down), _ = build(registry, "gaussian:1.5", "downsample:3")
    blurred = gaussian.prepare(image, ROW)
    assert blurred.shape == image.shape and blurred.std() < image.std()
    small = down.prepare(image, ROW)
    assert small.shape == (15, 20, 3) == (*downsampled_size(60, 45, 3)[::-1], 3)
    assert down.restore(small, (60, 45)).shape == image.shape
    assert gaussian.inputs(ROW) == (None,)


def test_inapplicable_ablations_and_missing_models_are_skipped(registry):
    variants, skipped = build(registry, "no-overlap", "no-prompt-prep", "scorer:needs-model", "uniform", "no-overlap@reference")
    assert [v.name for v in variants] == ["plain", "uniform"]
    reasons = {s.name: s.reason for s in skipped}
    assert "has no tiles" in reasons["no-overlap"]
    assert "ignores the prompt" in reasons["no-prompt-prep"]
    assert "not installed" in reasons["scorer:needs-model"] and isinstance(skipped[0], Skipped)


def test_uniform_no_overlap_is_the_paper_ablation(registry):
    variants, skipped = build(registry, "no-overlap", scorer="uniform")
    assert variants[1].settings["scorer_options"] == {"overlap": False}


@pytest.mark.parametrize("spec", ["bogus", "gaussian:x", "gaussian:-1", "downsample:0.5", "plain@reference", "prefilter@fancy", "scorer:"])
def test_bad_specs_are_usage_errors(registry, spec):
    with pytest.raises(UsageError):
        build(registry, spec)


def test_scorers_with_random_init_weights_are_labelled():
    from pgpcodec.interfaces import BlockGrid, ScoreMap, Scorer

    class RandomModelScorer(Scorer):
        name = "random-model"
        prompt_guided = False
        random_weights = True

        def score(self, image, prompt, *, regions=()):
            height, width = image.shape[:2]
            return ScoreMap(np.ones((height, width)), BlockGrid(1, (width, height), (width, height)))

    plugin = types.ModuleType("random_model")
    plugin.register_scorers = hookimpl(lambda register: register("random-model", RandomModelScorer))
    (_, variant), _ = build(PluginRegistry(modules=[plugin]), "scorer:random-model")
    assert "RANDOM-INIT WEIGHTS" in variant.description and variant.settings["random_init_weights"] is True
