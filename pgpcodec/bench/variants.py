"""What a benchmark compares: the plain codec, prefilters, ablations and baselines.

A variant turns an original image (and its manifest row) into the image
handed to the codec, and turns the decoded image back into one the size of
the original for the metrics. Spec strings, as ``--variants`` takes them:

``plain``
    the unmodified codec: the anchor every BD-rate is measured against.
``prefilter``
    prompt-guided prefilter with the run's ``--scorer``.
``scorer:NAME``
    the prefilter with another scorer (model sizes: ``scorer:tinyclip23`` …).
``uniform``
    the paper's "w/o TinyCLIP" ablation: every block scores 1 (σ = σ_1).
``no-overlap``
    the run's scorer with stride = tile size (tile scorers only).
``no-prompt-prep``
    the run's scorer fed the raw prompt (prompt-guided scorers only).
``gaussian:SIGMA``
    Appendix B baseline: one Gaussian σ for every pixel.
``downsample:N``
    Appendix B baseline: bilinear downsampling by N before encoding; the
    decoded image is upsampled back (bilinear) for the metrics and the VLM,
    and bpp counts the bits per *original* pixel.

``fit:TARGET``
    the plain codec on the image downsized to what the VLM ``TARGET`` sees
    (``--fit``, docs/fit.md: ``qwen2.5-vl``, ``max-side:1568`` …); the
    decoded image is upsampled back (bicubic) for the metrics, and bpp
    counts the bits per *original* pixel.
``VARIANT+fit:TARGET``
    any other variant run on the fitted image, its regions mapped, e.g.
    ``prefilter+fit:claude``.

Any prefilter variant takes ``@PROFILE`` to pick the filter profile
(``native`` by default, ``reference`` for the paper's pipeline), e.g.
``prefilter@reference``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ..defaults import ABLATION_SCORER, DEFAULT_PROMPT_PROCESSOR, NO_PROMPT_PROCESSOR, PROFILES
from ..errors import ModelNotFoundError, UsageError
from ..fit import FitRule, apply_fit
from ..fit import resolve as resolve_fit
from ..loaded import LOADED
from ..maths.grid import resize
from ..plugins import PluginRegistry
from ..prefilter import Prefilter, PrefilterSettings
from ..tile_scorer import TiledScorer
from .dataset import Row

PLAIN = "plain"
DEFAULT_VARIANTS = ("plain", "prefilter", "prefilter@reference")
PREFILTER_NAMES = ("prefilter", "uniform", "no-overlap", "no-prompt-prep")


@dataclass(frozen=True)
class Variant:
    """One row of the BD-rate table.

    ``inputs`` names what of a row the image to encode depends on: rows
    with equal keys share one prepared image and one encode per codec and
    quality (the plain codec encodes each photo once, not once per prompt).
    """

    name: str
    description: str
    family: str  # "plain", "prefilter" or "baseline"
    inputs: Callable[[Row], tuple]
    prepare: Callable[[np.ndarray, Row], np.ndarray]
    restore: Callable[[np.ndarray, tuple[int, int]], np.ndarray] = field(default=lambda decoded, size: decoded)
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "family": self.family, "settings": self.settings}


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


def _photo_only(row: Row) -> tuple:
    return (row.image,)


def downsampled_size(width: int, height: int, factor: float) -> tuple[int, int]:
    return (max(1, round(width / factor)), max(1, round(height / factor)))


def global_gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    from ..maths.filters import varying_gaussian

    return varying_gaussian(image, np.full(image.shape[:2], sigma, dtype=np.float32))


def _number(spec: str, text: str, *, minimum: float, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= minimum:
        raise UsageError(f"variant {spec!r}: {what} must be a number >= {minimum:g}, got {text!r}")
    return value


class VariantFactory:
    """Builds variants from spec strings, on the process's loaded prefilters (:mod:`pgpcodec.loaded`:
    one loaded model per scorer setup). No codec: the benchmark encodes with its own."""

    def __init__(self, scorer: str, registry: PluginRegistry, settings: PrefilterSettings | None = None, *,
                 prompt_processor: str = DEFAULT_PROMPT_PROCESSOR, plugin_timeout: float | None = None):
        self.scorer = scorer
        self.registry = registry
        self.settings = settings or PrefilterSettings()
        self.prompt_processor = prompt_processor
        self.plugin_timeout = plugin_timeout
        """Seconds each scorer, prompt processor and sigma map call may take, as the codecs' (None: no limit)."""

    def _prefilter_for(self, scorer: str, prompt_processor: str, scorer_options: dict, profile: str) -> Prefilter:
        settings = replace(self.settings, profile=profile)
        return LOADED.prefilter(scorer, prompt_processor=prompt_processor, scorer_options=scorer_options,
                                settings=settings, registry=self.registry, plugin_timeout=self.plugin_timeout)

    def build(self, spec: str) -> Variant | Skipped:
        """A variant, or why it does not apply (a missing model, an ablation that means nothing here)."""
        spec = spec.strip()
        inner, plus, target = spec.rpartition("+fit:")
        if plus or spec.startswith("fit:"):
            target = target if plus else spec[len("fit:"):]
            base = self.build(inner) if plus else Variant(PLAIN, "plain codec", "plain", _photo_only, lambda image, row: image)
            return base if isinstance(base, Skipped) else with_fit(base, spec, resolve_fit(target, self.registry))
        base, _, profile = spec.partition("@")
        kind, _, argument = base.partition(":")
        if profile and kind not in PREFILTER_NAMES + ("scorer",):
            raise UsageError(f"variant {spec!r}: only prefilter variants take @PROFILE")
        profile = profile or self.settings.profile
        if profile not in PROFILES:
            raise UsageError(f"variant {spec!r}: unknown filter profile {profile!r}", f"choose one of: {', '.join(PROFILES)}")
        if kind == PLAIN and not argument:
            return Variant(PLAIN, "plain codec", "plain", _photo_only, lambda image, row: image)
        if kind == "gaussian":
            sigma = _number(spec, argument, minimum=0, what="σ")
            return Variant(spec, f"global Gaussian σ={sigma:g}", "baseline", _photo_only,
                           lambda image, row: global_gaussian(image, sigma), settings={"sigma": sigma})
        if kind == "downsample":
            factor = _number(spec, argument, minimum=1, what="the factor")
            return Variant(
                spec,
                f"bilinear downsampling 1/{factor:g}",
                "baseline",
                _photo_only,
                lambda image, row: resize(image, downsampled_size(image.shape[1], image.shape[0], factor), "bilinear"),
                restore=functools.partial(resize, resample="bilinear"),
                settings={"factor": factor},
            )
        if kind in PREFILTER_NAMES and not argument:
            return self._prefilter(spec, kind, profile)
        if kind == "scorer" and argument:
            return self._prefilter(spec, kind, profile, scorer=argument)
        raise UsageError(
            f"unknown variant {spec!r}",
            "use plain, prefilter, scorer:NAME, uniform, no-overlap, no-prompt-prep, gaussian:SIGMA, downsample:N, "
            "fit:TARGET, VARIANT+fit:TARGET, with @native or @reference after a prefilter variant",
        )

    def _prefilter(self, spec: str, kind: str, profile: str, scorer: str | None = None) -> Variant | Skipped:
        scorer = scorer or (ABLATION_SCORER if kind == "uniform" else self.scorer)
        prompt_processor = NO_PROMPT_PROCESSOR if kind == "no-prompt-prep" else self.prompt_processor
        options = {"overlap": False} if kind == "no-overlap" else {}
        try:
            base = self._prefilter_for(scorer, self.prompt_processor, {}, profile)
            if kind == "no-overlap" and not isinstance(base.scorer, TiledScorer):
                return Skipped(spec, f"scorer {scorer!r} has no tiles, so the no-overlap ablation does not apply")
            if kind == "no-prompt-prep" and not base.scorer.prompt_guided:
                return Skipped(spec, f"scorer {scorer!r} ignores the prompt, so the no-prompt-prep ablation does not apply")
            prefilter = self._prefilter_for(scorer, prompt_processor, options, profile)
        except ModelNotFoundError as exc:
            return Skipped(spec, f"scorer {scorer!r} is not installed: {exc}")
        descriptions = {
            "prefilter": f"prefilter, scorer {scorer}",
            "scorer": f"prefilter, scorer {scorer}",
            "uniform": "uniform scores (w/o relevance model)",
            "no-overlap": f"scorer {scorer}, no overlap (stride = tile)",
            "no-prompt-prep": f"scorer {scorer}, raw prompt (no preprocessing)",
        }
        guided = prefilter.scorer.prompt_guided
        settings = {
            "scorer": scorer,
            "prompt_processor": prompt_processor if guided else None,
            "scorer_options": options,
            "profile": profile,
            "sigma_map": prefilter.sigma_map.name,
            "sigma_one": prefilter.sigma_one,
            "sigma_max": prefilter.settings.sigma_max,
        }

        random_weights = prefilter.scorer.random_weights  # figures from random weights must say so
        if random_weights:
            settings["random_init_weights"] = True
        if getattr(prefilter.scorer, "needs_regions", False):
            settings["needs_regions"] = True

        def prepare(image: np.ndarray, row: Row) -> np.ndarray:
            return prefilter.run(image, row.prompt, regions=row.regions).image

        def inputs(row: Row) -> tuple:
            # Any scorer may read the regions; only prompt-guided ones read the prompt.
            return (row.image, row.prompt if guided else None, row.regions)

        label = f"{descriptions[kind]} ({profile} profile)" + (" [RANDOM-INIT WEIGHTS]" if random_weights else "")
        return Variant(spec, label, "prefilter", inputs, prepare, settings=settings)


def with_fit(base: Variant, spec: str, rule: FitRule) -> Variant:
    """``base`` run on the image fitted to ``rule`` (regions mapped), upsampled back for the metrics."""

    def prepare(image: np.ndarray, row: Row) -> np.ndarray:
        fitted = apply_fit(image, rule, row.regions)
        return base.prepare(fitted.image, replace(row, regions=fitted.regions))

    description = f"{base.description}, fitted to {rule.name}" if base.name != PLAIN else f"plain codec fitted to {rule.name}"
    return Variant(spec, description, base.family if base.name != PLAIN else "fit", base.inputs, prepare,
                   restore=resize, settings={**base.settings, "fit": rule.name})


def build_variants(specs: list[str], factory: VariantFactory) -> tuple[list[Variant], list[Skipped]]:
    """Variants in the order given, ``plain`` first (it anchors the BD-rates), and the skipped ones."""
    specs = [s.strip() for s in specs if s.strip()]
    if PLAIN not in specs:
        specs.insert(0, PLAIN)
    seen: set[str] = set()
    variants: list[Variant] = []
    skipped: list[Skipped] = []
    for spec in [PLAIN] + [s for s in specs if s != PLAIN]:
        if spec in seen:
            continue
        seen.add(spec)
        built = factory.build(spec)
        (skipped if isinstance(built, Skipped) else variants).append(built)
    return variants, skipped
