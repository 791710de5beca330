"""Combined scorers A+B: the maths, the rule in the pipeline, and every surface (API, CLI, sidecar, bench)."""

from __future__ import annotations

import types

import numpy as np
import pytest
from PIL import Image

from pgpcodec import hookimpl
from pgpcodec.combine import CombinedScorer, combine_relevance, part_options, relevance_from_sigma, split_name
from pgpcodec.errors import UnknownPluginError, UsageError
from pgpcodec.interfaces import BlockGrid, ScoreMap, Scorer
from pgpcodec.pipeline import Pipeline
from pgpcodec.prefilter import PrefilterSettings
from pgpcodec.plugins import PluginRegistry
from pgpcodec.testing.samples import sample_image
from pgpcodec.testing.scorer_contract import ScorerContractTests


# -- pure functions ----------------------------------------------------------------------


def test_relevance_from_sigma_hand_values():
    sigma = np.array([0.0, 2.5, 10.0, 12.0])
    assert relevance_from_sigma(sigma, 10.0).tolist() == pytest.approx([1.0, 0.75, 0.0, 0.0])
    assert relevance_from_sigma(sigma, 0.0).tolist() == [1.0, 1.0, 1.0, 1.0]  # nothing is blurred at σ_max = 0


def test_combine_is_the_pixelwise_max():
    a = np.array([[0.1, 0.9], [0.5, 0.0]])
    b = np.array([[0.3, 0.2], [0.5, 0.7]])
    np.testing.assert_allclose(combine_relevance([a, b]), [[0.3, 0.9], [0.5, 0.7]], rtol=1e-6)


def test_split_name():
    assert split_name("uniform") is None
    assert split_name("spectral-residual + text") == ["spectral-residual", "text"]
    for bad in ("text+", "+text", "text+text"):
        with pytest.raises(UsageError):
            split_name(bad)


def test_part_options_routing():
    def first(*, margin=1, target_tiles=2):
        pass

    def second(*, target_tiles=2):
        pass

    split = part_options(["a", "b"], [first, second], {"target_tiles": 5, "a.margin": 3})
    assert split == [{"target_tiles": 5, "margin": 3}, {"target_tiles": 5}]
    with pytest.raises(UsageError, match="no part"):
        part_options(["a", "b"], [first, second], {"nonsense": 1})
    with pytest.raises(UsageError, match="names no part"):
        part_options(["a", "b"], [first, second], {"c.margin": 1})


# -- a third-party scorer, registered like a plugin -------------------------------------


class LeftHalfScorer(Scorer):
    """A third-party scorer: the left half scores 2, the right half 0 (tile-like scale, exponential map)."""

    name = "lefthalf"
    prompt_guided = False

    def __init__(self, *, high: float = 2.0):
        self.high = high

    def score(self, image, prompt, *, regions=()):
        height, width = image.shape[:2]
        scores = np.zeros((height, width))
        scores[:, : width // 2] = self.high
        return ScoreMap(scores, BlockGrid(1, (width, height), (width, height)), prompt_used=prompt)


class NothingScorer(Scorer):
    """Finds nothing it looks for; its fallback is 0.25 everywhere."""

    name = "nothing"
    prompt_guided = False
    preferred_sigma_map = ("linear", 0.0)

    def score(self, image, prompt, *, regions=()):
        height, width = image.shape[:2]
        return ScoreMap(np.full((height, width), 0.25), BlockGrid(1, (width, height), (width, height)), nothing_relevant=True)


fake_plugin = types.ModuleType("fake_thirdparty_scorers")


@hookimpl
def _register_scorers(register):
    register("lefthalf", LeftHalfScorer)
    register("nothing", NothingScorer)


fake_plugin.register_scorers = _register_scorers


@pytest.fixture
def registry(pgpcodec_isolated, monkeypatch):
    import pgpcodec.plugins as plugins

    registry = PluginRegistry(modules=[fake_plugin])
    monkeypatch.setattr(plugins, "_default", registry)  # the CLI and the sidecar see the fake plugin too
    monkeypatch.setattr(plugins, "reset_registry", lambda: None)
    return registry


def sigma_alone(registry, name, image, regions=(), settings=None):
    pipe = Pipeline(name, "jpeg", prompt_processor="none", settings=settings or PrefilterSettings(), registry=registry)
    return pipe.prefilter(image, "x", regions=regions).sigma_per_pixel()


def test_combined_sigma_is_the_min_of_the_parts(registry):
    image = sample_image(160, 48)
    regions = [(140, 10, 150, 20)]
    settings = PrefilterSettings(sigma_max=6.0)
    combined = sigma_alone(registry, "lefthalf+regions", image, regions, settings)
    expected = np.minimum(sigma_alone(registry, "lefthalf", image, regions, settings), sigma_alone(registry, "regions", image, regions, settings))
    np.testing.assert_allclose(combined, expected, atol=1e-5)
    # the left half: exponential map at s = 2 with the default σ₁ 0.2 → σ = 0.2 · (6/0.2)^(1-2) = 1/150
    assert combined[5, 5] == pytest.approx(0.2 / 30, rel=1e-4)
    # right half, 50 px from the region (beyond margin 8 + ramp 24): s = 0 for both → σ_max
    assert combined[45, 90] == pytest.approx(6.0)
    assert combined[15, 145] == pytest.approx(0.0)  # inside the region


def test_user_sigma_map_applies_to_each_part(registry):
    image = sample_image(160, 48)
    regions = [(140, 10, 150, 20)]
    settings = PrefilterSettings(sigma_map="linear", sigma_one=1.0, sigma_max=5.0)
    combined = sigma_alone(registry, "lefthalf+regions", image, regions, settings)
    # linear: σ = max(0, 5 − 4·s); left s = 2 → 0; right, far from the region, s = 0 → 5; in the region s = 1 → 1
    assert combined[10, 5] == pytest.approx(0.0, abs=1e-6)
    assert combined[45, 90] == pytest.approx(5.0, abs=1e-5)
    assert combined[15, 145] == pytest.approx(1.0, abs=1e-5)


def test_nothing_relevant_part_leaves_the_decision_to_the_others(registry):
    image = sample_image(64, 48)
    alone = sigma_alone(registry, "lefthalf", image)
    np.testing.assert_allclose(sigma_alone(registry, "nothing+lefthalf", image), alone, atol=1e-5)


def test_only_nothing_found_uses_the_first_parts_fallback(registry):
    from pgpcodec.combine import Part

    image = sample_image(32, 24)
    parts = [Part("nothing", NothingScorer(), "fake"), Part("other", NothingScorer(), "fake")]
    pipe = Pipeline(CombinedScorer(parts), "jpeg", prompt_processor="none", registry=registry)
    sigma = pipe.prefilter(image).sigma_per_pixel()
    np.testing.assert_allclose(sigma, 0.75 * pipe.settings.sigma_max, atol=1e-5)


def test_combined_properties(registry):
    scorer = registry.create("scorer", "lefthalf+regions")
    assert isinstance(scorer, CombinedScorer)
    assert scorer.name == "lefthalf+regions" and not scorer.prompt_guided
    with pytest.raises(UnknownPluginError, match="unknown scorer 'nosuch'"):
        registry.create("scorer", "lefthalf+nosuch")
    with pytest.raises(UsageError, match="no part"):
        registry.create("scorer", "lefthalf+regions", bogus=1)
    part = registry.create("scorer", "lefthalf+regions", **{"lefthalf.high": 3.0}).parts[0].scorer
    assert part.high == 3.0


def test_cli_and_explain_show_each_part(registry, run_cli, tmp_path):
    source = tmp_path / "in.png"
    Image.fromarray(sample_image(96, 64)).save(source)
    explain = tmp_path / "explain.png"
    code, out, err = run_cli("encode", source, "--scorer", "lefthalf+regions", "--regions", "50,10,90,40",
                             "-o", tmp_path / "out.jpg", "--explain", explain)
    assert code == 0, err
    single = tmp_path / "single.png"
    assert run_cli("encode", source, "--scorer", "regions", "--regions", "50,10,90,40", "-o", tmp_path / "o2.jpg", "--explain", single)[0] == 0
    with Image.open(explain) as combined_picture, Image.open(single) as single_picture:
        assert combined_picture.height > 1.5 * single_picture.height  # a second row: each part, then the combination


def test_sidecar_and_bench_resolve_combinations(registry):
    from pgpcodec.bench.variants import VariantFactory
    from pgpcodec.server import Encoder, ServerConfig

    encoder = Encoder(ServerConfig(scorer="lefthalf+uniform", codec="jpeg", prompt_processor="none"), registry=registry)
    assert isinstance(encoder.base.scorer, CombinedScorer)
    variant = VariantFactory("regions", registry).build("scorer:lefthalf+uniform")
    from pgpcodec.bench.dataset import Row

    image = sample_image(40, 30)
    out = variant.prepare(image, Row("r", image=None, prompt="x"))
    assert out.shape == image.shape


class TestCombinedContract(ScorerContractTests):
    """A combination passes the same contract as any scorer."""

    scorer_name = "uniform+regions"
    huge_size = (2000, 1500)

    def regions_for(self, width, height):
        return ((0, 0, max(1, width // 2), max(1, height // 2)),)
