"""The prefilter: (image, prompt) → relevance scores → σ map → filtered image, with no codec.

A :class:`Prefilter` holds the plugins of one set-up (prompt processor,
scorer, sigma map), its filter settings and its fit rule. They are made
once (so a model is loaded once), and a prefilter can then be shared
between threads: every call works on its own arrays, and plugins are
required to be thread-safe for concurrent calls.

:meth:`Prefilter.run` is the whole algorithm, step by step::

    regions, prompt checked ─▶ image fitted (fit rule) ─▶ prompt processed
    ─▶ scorer: ScoreMap ─▶ sigma map: SigmaField ─▶ filter profile: image

The maths it calls is in :mod:`pgpcodec.maths` (``filters`` for the
profiles, ``grid`` for resizing); every plugin call goes through
:func:`pgpcodec.guard.call_plugin`, and what a plugin returns is checked.
:class:`pgpcodec.pipeline.Pipeline` puts a codec after it.
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from . import plugins
from .cancel import check_cancelled
from .combine import COMBINED_SIGMA_MAP, CombinedScorer
from .defaults import (
    DEFAULT_KERNEL_SIZE,
    DEFAULT_LOGIT_SCALE,
    DEFAULT_PROFILE,
    DEFAULT_PROMPT_PROCESSOR,
    DEFAULT_SCORER,
    DEFAULT_SIGMA_MAP,
    DEFAULT_SIGMA_MAX,
    DEFAULT_SIGMA_ONE,
    DEFAULT_TARGET_TILES,
    DEFAULT_TILE,
    DEFAULT_TRUNCATE,
    KERNEL_SIZE_LIMIT,
    MODEL_DIRECTORY_SCORER,
    PROFILES,
    SIGMA_MAX_LIMIT,
    TRUNCATE_LIMIT,
)
from .errors import InputError, SettingError, UsageError
from .fit import FitRule, Fitted, apply_fit
from .fit import resolve as resolve_fit
from .guard import PluginRef, call_plugin, malformed
from .interfaces import BlockGrid, Box, PromptProcessor, ScoreMap, Scorer, SigmaField, SigmaMap
from .maths import filters, grid as grid_math
from .plugins import PluginRegistry


# -- the settings ---------------------------------------------------------------------


@dataclass(frozen=True)
class PrefilterSettings:
    """How scores become blur. Defaults are the paper's operating point (:mod:`pgpcodec.defaults`)."""

    profile: str = DEFAULT_PROFILE
    sigma_map: str | None = None
    """None: the scorer's preferred map (``regions`` prefers linear with σ_1 = 0), else exponential."""
    sigma_max: float = DEFAULT_SIGMA_MAX
    sigma_one: float | None = None
    """σ at score 1; None: the scorer's preference, else :data:`~pgpcodec.defaults.DEFAULT_SIGMA_ONE`."""
    logit_scale: float = DEFAULT_LOGIT_SCALE
    """Softmax scale α of tile scores (scorers with a ``logit_scale`` attribute); others ignore it."""
    kernel_size: int = DEFAULT_KERNEL_SIZE
    """Fixed kernel of the ``reference`` profile."""
    truncate: float = DEFAULT_TRUNCATE
    """Kernel radius in σ for the ``native`` profile."""

    def __post_init__(self) -> None:
        """Every setting is checked here, before any work: each bad one is a :class:`SettingError`."""
        if self.profile not in PROFILES:
            raise SettingError("profile", f"{self.profile!r} is not a filter profile", f"choose one of: {', '.join(PROFILES)}")
        sigma_max = _real("sigma_max", self.sigma_max)
        if not 0 <= sigma_max <= SIGMA_MAX_LIMIT:
            raise SettingError("sigma_max", f"must be from 0 to {SIGMA_MAX_LIMIT:g}, got {sigma_max:g}", "the paper uses 3 to 10")
        logit_scale = _real("logit_scale", self.logit_scale)
        if not logit_scale > 0:
            raise SettingError("logit_scale", f"must be > 0, got {logit_scale:g}")
        if self.sigma_one is not None and not 0 <= _real("sigma_one", self.sigma_one) <= sigma_max:
            raise SettingError("sigma_one", f"must be from 0 to sigma_max ({sigma_max:g}), got {self.sigma_one:g}")
        if isinstance(self.kernel_size, bool) or not isinstance(self.kernel_size, numbers.Integral):
            raise SettingError("kernel_size", f"must be a whole number, got {self.kernel_size!r}")
        if not (1 <= self.kernel_size <= KERNEL_SIZE_LIMIT and self.kernel_size % 2 == 1):
            raise SettingError("kernel_size", f"must be an odd number from 1 to {KERNEL_SIZE_LIMIT}, got {self.kernel_size}")
        if not 0 < _real("truncate", self.truncate) <= TRUNCATE_LIMIT:
            raise SettingError("truncate", f"must be > 0 and at most {TRUNCATE_LIMIT:g}, got {self.truncate:g}")


def _real(name: str, value) -> float:
    """A finite real number, or a SettingError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise SettingError(name, f"must be a finite number, got {value!r}")
    return float(value)


# -- what a run gives ------------------------------------------------------------------


@dataclass(frozen=True)
class PrefilterResult:
    image: np.ndarray
    score_map: ScoreMap
    sigma_field: SigmaField
    prompt_used: str
    seconds: float
    scorer: str = ""
    """The scorer's :meth:`~pgpcodec.interfaces.Scorer.describe` label."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    original_size: tuple[int, int] | None = None
    """(width, height) before the prefilter's ``fit`` downsized the input; None when not fitted."""
    fit: str | None = None
    scored_image: np.ndarray | None = None
    """The image as the scorer saw it (after the fit): what the explain picture shows beside the maps."""

    def sigma_per_pixel(self) -> np.ndarray:
        """σ for every original pixel, as the ``native`` profile uses it."""
        return native_sigma(self.sigma_field)


@dataclass(frozen=True)
class PreparedInput:
    """An input ready to score or encode: an RGB array, fitted, its regions mapped with it."""

    image: np.ndarray
    regions: tuple[Box, ...]
    notes: tuple[str, ...]
    fitted: Fitted | None


def prepare_input(image, regions: Sequence[Box], fit: FitRule | None) -> PreparedInput:
    """``image`` (a path, bytes or an array) as an RGB array, downsized to ``fit`` with ``regions`` mapped.

    The one place a fit is applied: the prefilter, and a pipeline's plain encodes.
    """
    array, notes = _as_array(image)
    fitted = None if fit is None else apply_fit(array, fit, regions)
    if fitted is None:
        return PreparedInput(array, tuple(regions), tuple(notes), None)
    return PreparedInput(fitted.image, tuple(fitted.regions), (*notes, *fitted.notes), fitted)


def _as_array(image) -> tuple[np.ndarray, list[str]]:
    from .imaging import as_rgb_array, load_image

    if isinstance(image, (str, os.PathLike, bytes, bytearray)):
        return load_image(image)
    notes: list[str] = []
    return as_rgb_array(image, notes), notes


# -- the filter profiles ---------------------------------------------------------------


def native_sigma(field_: SigmaField) -> np.ndarray:
    """Per-pixel σ in original pixels: block centres interpolated, scaled from grid to image pixels."""
    grid = field_.grid
    if grid.block == 1 and grid.grid_size == grid.image_size:
        return field_.sigma.astype(np.float32)
    (grid_w, grid_h), (width, height) = grid.grid_size, grid.image_size
    scale = math.sqrt((width / grid_w) * (height / grid_h))
    return filters.block_centre_interpolation(field_.sigma, grid.block, grid.grid_size, grid.image_size) * np.float32(scale)


def reference_block_sigma(field_: SigmaField) -> tuple[np.ndarray, BlockGrid]:
    """Block σ on the paper's working grid; per-pixel fields take each block's smallest σ."""
    grid = field_.grid
    if grid.block > 1:
        return field_.sigma, grid
    width, height = grid.image_size
    ref = grid_math.tile_grid(width, height, tile=DEFAULT_TILE, target_tiles=DEFAULT_TARGET_TILES)
    return filters.min_pool_to_grid(field_.sigma, ref.block, ref.grid_size), ref


def apply_profile(image: np.ndarray, field_: SigmaField, settings: PrefilterSettings) -> np.ndarray:
    """Blur ``image`` by ``field_``: per pixel (``native``), or block by block on the paper's grid (``reference``)."""
    if settings.profile == "native":
        return filters.varying_gaussian(image, native_sigma(field_), truncate=settings.truncate)
    block_sigma, grid = reference_block_sigma(field_)
    resized = grid_math.resize(image, grid.grid_size)
    blurred = filters.blockwise_gaussian(resized, block_sigma, grid.block, settings.kernel_size)
    return grid_math.resize(blurred, grid.image_size)


# -- the prompt ------------------------------------------------------------------------


def checked_prompt(prompt) -> str:
    """The prompt as text: ``None`` is empty, bytes must be UTF-8, and a ``str`` must be encodable
    (no lone surrogates); anything else is the caller's :class:`InputError`."""
    if prompt is None:
        return ""
    if isinstance(prompt, (bytes, bytearray)):
        try:
            return bytes(prompt).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"the prompt is not valid UTF-8 (byte {exc.start})", "send the prompt as UTF-8 text") from None
    if not isinstance(prompt, str):
        raise TypeError(f"the prompt must be a str, got {type(prompt).__name__}")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"the prompt is not valid Unicode text (a lone surrogate at character {exc.start})",
            "send the prompt as UTF-8 text; a surrogate pair must be decoded into one character",
        ) from None
    return prompt


def printable(prompt) -> str:
    """The prompt with control characters (NUL, escape sequences, …) turned into spaces.

    They carry no meaning for a text encoder, and a prompt comes from the
    public: it is only ever data, never passed to a shell or a terminal.
    """
    text = "" if prompt is None else str(prompt)
    return "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)


# -- making the plugins ----------------------------------------------------------------


def make_scorer(registry: PluginRegistry, name: str, options: dict | None = None) -> Scorer:
    """The scorer ``name`` (or ``A+B``) with its factory ``options``; a model directory runs
    :data:`~pgpcodec.defaults.MODEL_DIRECTORY_SCORER` on it."""
    options = dict(options or {})
    if "logit_scale" in options:
        raise UsageError(
            "logit_scale is a filter setting, not a scorer option",
            "give it as the logit_scale setting",
            parameter="logit_scale",
        )
    names = registry.names("scorer")
    if name not in names and os.path.isdir(name) and MODEL_DIRECTORY_SCORER in names:
        # A path to an exported model directory runs the ONNX CLIP scorer on it.
        return registry.create("scorer", MODEL_DIRECTORY_SCORER, model=name, **options)
    return registry.create("scorer", name, **options)


def plugin_ref(registry: PluginRegistry, kind: str, component) -> PluginRef:
    """Which plugin ``component`` came from: its registration, else (an object passed in) its module."""
    name = getattr(component, "name", "") or type(component).__name__
    try:
        plugin = registry.registration(kind, name).plugin
    except UsageError:  # an object passed in directly, not from the registry
        plugin = type(component).__module__
    return PluginRef(kind.replace("_", " "), name, plugin)


# -- the prefilter ---------------------------------------------------------------------


class Prefilter:
    """Reusable, thread-safe prompt-guided prefilter: no codec, only the filtered image and its maps.

    >>> prefilter = Prefilter("regions")                                         # doctest: +SKIP
    >>> result = prefilter.run("photo.jpg", "What colour is the cup?", regions=[(10, 10, 120, 90)])  # doctest: +SKIP

    A prefilter is also callable: ``prefilter(image, prompt, regions=...)`` is :meth:`run`.
    """

    def __init__(
        self,
        scorer: str | Scorer = DEFAULT_SCORER,
        *,
        prompt_processor: str | PromptProcessor = DEFAULT_PROMPT_PROCESSOR,
        settings: PrefilterSettings | None = None,
        scorer_options: dict | None = None,
        registry: PluginRegistry | None = None,
        plugin_timeout: float | None = None,
        fit: str | FitRule | None = None,
    ):
        self.registry = registry or plugins.get_registry()
        self.settings = settings or PrefilterSettings()
        self.fit: FitRule | None = resolve_fit(fit, self.registry)
        """Downsize every input to what this VLM target sees, before scoring (see :mod:`pgpcodec.fit`)."""
        self.plugin_timeout = plugin_timeout
        """Seconds each plugin call may take (None: no limit); see :mod:`pgpcodec.guard`."""
        base = scorer if isinstance(scorer, Scorer) else make_scorer(self.registry, scorer, scorer_options)
        self.scorer = self._tuned(base)
        if isinstance(prompt_processor, PromptProcessor):
            self.prompt_processor: PromptProcessor | str = prompt_processor
        elif self.scorer.prompt_guided:
            self.prompt_processor = self.registry.create("prompt_processor", prompt_processor)
        else:
            # The scorer ignores the prompt (Scorer.prompt_guided): the processor is never run, so
            # never loaded (NLTK costs seconds); only its name is checked and kept.
            self.registry.registration("prompt_processor", prompt_processor)
            self.prompt_processor = prompt_processor
        map_name, self.sigma_one = self._sigma_choice()
        self.sigma_map: SigmaMap = self.registry.create("sigma_map", map_name)

    def _rebuilt(self, **changes) -> "Prefilter":
        """A prefilter sharing this one's loaded scorer and prompt processor, with ``changes`` to its set-up."""
        setup = {"settings": self.settings, "fit": self.fit, "plugin_timeout": self.plugin_timeout, **changes}
        return Prefilter(self.scorer, prompt_processor=self.prompt_processor, registry=self.registry, **setup)

    def with_settings(self, **changes) -> "Prefilter":
        """A prefilter sharing this one's plugins with some settings changed."""
        return self._rebuilt(settings=replace(self.settings, **changes))

    def with_fit(self, fit: str | FitRule | None) -> "Prefilter":
        """A prefilter sharing this one's plugins that fits its inputs to ``fit`` (None: no fit)."""
        return self._rebuilt(fit=fit)

    def with_timeout(self, plugin_timeout: float | None) -> "Prefilter":
        """A prefilter sharing this one's plugins whose plugin calls may take ``plugin_timeout`` seconds."""
        return self._rebuilt(plugin_timeout=plugin_timeout)

    def _tuned(self, scorer: Scorer) -> Scorer:
        """The scorer with the settings' logit scale: a shallow copy (sharing its model) when it differs."""
        current = getattr(scorer, "logit_scale", None)
        if current is None or float(current) == float(self.settings.logit_scale):
            return scorer
        tuned = copy.copy(scorer)
        tuned.logit_scale = float(self.settings.logit_scale)
        return tuned

    def _sigma_choice(self, scorer: Scorer | None = None) -> tuple[str, float]:
        """The sigma map and σ_1 for ``scorer`` (default: this prefilter's); a combination always ends linear, σ_1 = 0."""
        scorer = scorer or self.scorer
        if isinstance(scorer, CombinedScorer):
            return COMBINED_SIGMA_MAP
        s = self.settings
        preferred = scorer.preferred_sigma_map
        if s.sigma_map is None and s.sigma_one is None and preferred:
            return preferred
        return (s.sigma_map or DEFAULT_SIGMA_MAP, DEFAULT_SIGMA_ONE if s.sigma_one is None else s.sigma_one)

    def run(self, image, prompt: str = "", *, regions: Sequence[Box] = ()) -> PrefilterResult:
        """Score ``image`` against ``prompt`` and blur what is irrelevant.

        With a ``fit`` target the image is first downsized to what that VLM
        sees (``regions`` in original pixels are mapped with it); the result
        is at the fitted size.

        ``regions`` are checked first (:func:`pgpcodec.regions.parse_regions`),
        then the prompt (:func:`checked_prompt`): a bad one is the caller's error.
        """
        from .regions import parse_regions

        regions = parse_regions(regions)
        prompt = checked_prompt(prompt)
        # 1. the input, fitted to what the VLM sees
        prepared = prepare_input(image, regions, self.fit)
        array, regions, notes = prepared.image, prepared.regions, list(prepared.notes)
        if self.scorer.random_weights:
            notes.append(f"scorer {self.scorer.name} has RANDOM-INIT weights: its relevance map carries no meaning")
        start = time.perf_counter()
        # 2. the prompt, reduced to what the scorer embeds
        prompt = printable(prompt)
        if self.scorer.prompt_guided and not prompt.strip():
            raise InputError(
                f"the prompt is empty, and scorer {self.scorer.name!r} is guided by the prompt",
                "give a prompt, or use a prompt-free scorer such as 'uniform' or 'regions'",
                parameter="prompt",
            )
        check_cancelled()
        text = self._process_prompt(prompt) if self.scorer.prompt_guided else prompt
        check_cancelled()
        # 3. relevance per block, 4. σ per block, 5. the blur
        score_map = self._score(array, text, regions)
        check_cancelled()
        sigma_field = SigmaField(self._sigma(score_map.scores), score_map.grid)
        filtered = apply_profile(array, sigma_field, self.settings)
        check_cancelled()
        fitted = prepared.fitted
        return PrefilterResult(
            filtered, score_map, sigma_field, text, time.perf_counter() - start, self.scorer.describe(), tuple(notes),
            original_size=fitted.original_size if fitted else None, fit=fitted.target if fitted else None, scored_image=array,
        )

    __call__ = run

    # -- the guarded plugin calls ----------------------------------------------------

    def _ref(self, kind: str, component) -> PluginRef:
        return plugin_ref(self.registry, kind, component)

    def _call(self, kind: str, component, function, *args, **kwargs):
        return call_plugin(self._ref(kind, component), function, *args, timeout=self.plugin_timeout, **kwargs)

    def _process_prompt(self, prompt: str) -> str:
        text = self._call("prompt_processor", self.prompt_processor, self.prompt_processor.process, prompt, self.scorer.fits_context)
        if not isinstance(text, str):
            raise malformed(self._ref("prompt_processor", self.prompt_processor), f"{type(text).__name__}, not a string")
        return text

    def _score(self, array: np.ndarray, text: str, regions: tuple) -> ScoreMap:
        if isinstance(self.scorer, CombinedScorer):
            return self.scorer.score_with(
                array, text, regions, score_part=self._score_part, part_sigma=self._part_sigma, sigma_max=self.settings.sigma_max
            )
        return self._score_one(self.scorer, self._ref("scorer", self.scorer), array, text, regions)

    def _score_part(self, part, array: np.ndarray, text: str, regions: tuple) -> ScoreMap:
        return self._score_one(part.scorer, PluginRef("scorer", part.name, part.plugin), array, text, regions)

    def _part_sigma(self, part, score_map: ScoreMap) -> np.ndarray:
        """A part's σ per original pixel, by the sigma map it would get alone."""
        map_name, sigma_one = self._sigma_choice(part.scorer)
        sigma_map = self.registry.create("sigma_map", map_name)
        sigma = self._sigma(score_map.scores, sigma_map, sigma_one)
        return native_sigma(SigmaField(sigma, score_map.grid))

    def _score_one(self, scorer: Scorer, ref: PluginRef, array: np.ndarray, text: str, regions: tuple) -> ScoreMap:
        score_map = call_plugin(ref, scorer.score, array, text, regions=regions, timeout=self.plugin_timeout)
        if not isinstance(score_map, ScoreMap):
            raise malformed(ref, f"{type(score_map).__name__}, not a ScoreMap")
        height, width = array.shape[:2]
        if tuple(score_map.grid.image_size) != (width, height) or score_map.scores.size == 0:
            raise malformed(ref, f"a score map for a {score_map.grid.image_size} image, not {(width, height)}")
        if not np.all(np.isfinite(score_map.scores)) or (score_map.scores < 0).any():
            raise malformed(ref, "negative or non-finite scores")
        return score_map

    def _sigma(self, scores: np.ndarray, sigma_map: SigmaMap | None = None, sigma_one: float | None = None) -> np.ndarray:
        sigma_map = sigma_map or self.sigma_map
        sigma_one = self.sigma_one if sigma_one is None else sigma_one
        sigma = self._call("sigma_map", sigma_map, sigma_map, scores, sigma_max=self.settings.sigma_max, sigma_one=sigma_one)
        ref = self._ref("sigma_map", sigma_map)
        try:
            sigma = np.asarray(sigma, dtype=np.float64)
        except (TypeError, ValueError):
            raise malformed(ref, f"{type(sigma).__name__}, not an array of σ") from None
        if sigma.shape != scores.shape:
            raise malformed(ref, f"σ of shape {sigma.shape} for scores of shape {scores.shape}")
        if not np.all(np.isfinite(sigma)) or (sigma < 0).any():
            raise malformed(ref, "negative or non-finite σ")
        return sigma
