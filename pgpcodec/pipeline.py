"""The prompt-guided pipeline: prompt → scores → σ → filter → codec.

A :class:`Pipeline` creates its scorer, codec, prompt processor and sigma
map once (so a model is loaded once) and can then be shared between
threads: every call works on its own arrays, and plugins are required to be
thread-safe for concurrent calls.
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
import os
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .cancel import check_cancelled
from .combine import COMBINED_SIGMA_MAP, CombinedScorer
from .errors import InputError, SettingError, UsageError
from .fit import FitRule, Fitted, apply_fit
from .fit import resolve as resolve_fit
from .guard import PluginRef, call_plugin, malformed
from .interfaces import BlockGrid, Box, Codec, EncodedImage, PromptProcessor, ScoreMap, Scorer, SigmaField, SigmaMap
from .plugins import PluginRegistry, get_registry
from .maths import filters, grid as grid_math

PROFILES = ("native", "reference")
# The paper's operating point: what the prefiltered runs behind its Table I used (the reference
# repository's results.json and bdrate_calc.py), not its script's argparse defaults (50 / 0.5 / 10).
# The one place these defaults live: PrefilterSettings, the CLI, the API and the sidecar read them here.
DEFAULT_SIGMA_MAP = "exponential"
DEFAULT_SIGMA_ONE = 0.2
DEFAULT_SIGMA_MAX = 3.0
DEFAULT_LOGIT_SCALE = 20.0
DEFAULT_KERNEL_SIZE = 11
SIGMA_MAX_LIMIT = 100.0
"""Largest σ_max accepted (pixels). The native filter's memory follows the image, not σ
(:mod:`.prefilter.blur` folds wider kernels), but its time grows with σ; see docs/embedding.md."""
KERNEL_SIZE_LIMIT = 255
"""Largest kernel of the ``reference`` profile (its time grows with the square of the size)."""
TRUNCATE_LIMIT = 10.0
"""Largest kernel radius of the ``native`` profile, in σ."""


@dataclass(frozen=True)
class PrefilterSettings:
    """How scores become blur. Defaults are the paper's operating point (docs/architecture.md)."""

    profile: str = "native"
    sigma_map: str | None = None
    """None: the scorer's preferred map (``regions`` prefers linear with σ_1 = 0), else exponential."""
    sigma_max: float = DEFAULT_SIGMA_MAX
    sigma_one: float | None = None
    """σ at score 1; None: the scorer's preference, else :data:`DEFAULT_SIGMA_ONE`."""
    logit_scale: float = DEFAULT_LOGIT_SCALE
    """Softmax scale α of tile scores (scorers with a ``logit_scale`` attribute); others ignore it."""
    kernel_size: int = DEFAULT_KERNEL_SIZE
    """Fixed kernel of the ``reference`` profile."""
    truncate: float = 3.0
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
    """(width, height) before the pipeline's ``fit`` downsized the input; None when not fitted."""
    fit: str | None = None

    def sigma_per_pixel(self) -> np.ndarray:
        """σ for every original pixel, as the ``native`` profile uses it."""
        return native_sigma(self.sigma_field)


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
    from .tile_scorer import DEFAULT_TARGET_TILES, DEFAULT_TILE, tile_grid

    grid = field_.grid
    if grid.block > 1:
        return field_.sigma, grid
    width, height = grid.image_size
    ref = tile_grid(width, height, tile=DEFAULT_TILE, target_tiles=DEFAULT_TARGET_TILES)
    return filters.min_pool_to_grid(field_.sigma, ref.block, ref.grid_size), ref


def apply_profile(image: np.ndarray, field_: SigmaField, settings: PrefilterSettings) -> np.ndarray:
    if settings.profile == "native":
        return filters.varying_gaussian(image, native_sigma(field_), truncate=settings.truncate)
    block_sigma, grid = reference_block_sigma(field_)
    resized = grid_math.resize(image, grid.grid_size)
    blurred = filters.blockwise_gaussian(resized, block_sigma, grid.block, settings.kernel_size)
    return grid_math.resize(blurred, grid.image_size)


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


def encode_pixels(
    codec: Codec, pixels: np.ndarray, quality: float | None = None, *, target_bytes: int | None = None, target_bpp: float | None = None
) -> EncodedImage:
    """Encode at ``quality``, or at the best quality that fits ``target_bytes``/``target_bpp``
    (searched by :mod:`pgpcodec.ratecontrol`)."""
    if target_bytes is None and target_bpp is None:
        return codec.encode(pixels, quality)
    if quality is not None or (target_bytes is not None and target_bpp is not None):
        raise UsageError("give only one of a quality, a target size in bytes and a target bpp")
    from .ratecontrol import bytes_for_bpp, fit_to_size

    height, width = pixels.shape[:2]
    budget = int(target_bytes) if target_bytes is not None else bytes_for_bpp(target_bpp, width, height)
    return fit_to_size(codec, pixels, budget)


def with_original_size(encoded: EncodedImage, original_size: tuple[int, int], fit: str | None) -> EncodedImage:
    """``encoded`` recording the size of the input before it was fitted."""
    return replace(encoded, original_width=int(original_size[0]), original_height=int(original_size[1]), fit=fit)
def codec_notes(codec: Codec) -> list[str]:
    """What a reader of a codec's figures must know: RANDOM-INIT weights make its size and quality meaningless."""
    if codec.random_weights:
        return [f"codec {codec.name} has RANDOM-INIT weights: its size and quality mean nothing"]
    return []


def _as_array(image) -> tuple[np.ndarray, list[str]]:
    from .imaging import as_rgb_array, load_image

    if isinstance(image, (str, os.PathLike, bytes, bytearray)):
        return load_image(image)
    notes: list[str] = []
    return as_rgb_array(image, notes), notes


class Pipeline:
    """Reusable, thread-safe prompt-guided encoder.

    >>> pipe = Pipeline(scorer="regions", codec="jpeg")            # doctest: +SKIP
    >>> result = pipe.encode("photo.jpg", "What colour is the cup?", quality=50,
    ...                      regions=[(10, 10, 120, 90)])        # doctest: +SKIP
    """

    def __init__(
        self,
        scorer: str | Scorer = "tinyclip57",
        codec: str | Codec = "jpeg",
        *,
        prompt_processor: str | PromptProcessor = "nltk",
        settings: PrefilterSettings | None = None,
        scorer_options: dict | None = None,
        codec_options: dict | None = None,
        registry: PluginRegistry | None = None,
        plugin_timeout: float | None = None,
        fit: str | FitRule | None = None,
    ):
        self.registry = registry or get_registry()
        self.settings = settings or PrefilterSettings()
        self.fit: FitRule | None = resolve_fit(fit, self.registry)
        """Downsize every input to what this VLM target sees, before scoring (see :mod:`pgpcodec.fit`)."""
        self.plugin_timeout = plugin_timeout
        """Seconds each plugin call may take (None: no limit); see :mod:`pgpcodec.guard`."""
        # The codec first: a mistyped codec is reported before a model is loaded (or found missing).
        self.codec = codec if isinstance(codec, Codec) else self.registry.create("codec", codec, **(codec_options or {}))
        self.scorer = self._tuned(scorer if isinstance(scorer, Scorer) else self._make_scorer(scorer, scorer_options or {}))
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

    def _ref(self, kind: str, component) -> PluginRef:
        name = getattr(component, "name", "") or type(component).__name__
        try:
            plugin = self.registry.registration(kind, name).plugin
        except UsageError:  # an object passed in directly, not from the registry
            plugin = type(component).__module__
        return PluginRef(kind.replace("_", " "), name, plugin)

    def _call(self, kind: str, component, function, *args, **kwargs):
        return call_plugin(self._ref(kind, component), function, *args, timeout=self.plugin_timeout, **kwargs)

    def _tuned(self, scorer: Scorer) -> Scorer:
        """The scorer with the settings' logit scale: a shallow copy (sharing its model) when it differs."""
        current = getattr(scorer, "logit_scale", None)
        if current is None or float(current) == float(self.settings.logit_scale):
            return scorer
        tuned = copy.copy(scorer)
        tuned.logit_scale = float(self.settings.logit_scale)
        return tuned

    def _make_scorer(self, name: str, options: dict) -> Scorer:
        if "logit_scale" in options:
            raise UsageError(
                "logit_scale is a filter setting, not a scorer option",
                "give it as the logit_scale setting",
                parameter="logit_scale",
            )
        names = self.registry.names("scorer")
        if name not in names and os.path.isdir(name) and "tinyclip" in names:
            # A path to an exported model directory runs the ONNX CLIP scorer on it.
            return self.registry.create("scorer", "tinyclip", model=name, **options)
        return self.registry.create("scorer", name, **options)

    def _sigma_choice(self, scorer: Scorer | None = None) -> tuple[str, float]:
        """The sigma map and σ_1 for ``scorer`` (default: the pipeline's); a combination always ends linear, σ_1 = 0."""
        scorer = scorer or self.scorer
        if isinstance(scorer, CombinedScorer):
            return COMBINED_SIGMA_MAP
        s = self.settings
        preferred = scorer.preferred_sigma_map
        if s.sigma_map is None and s.sigma_one is None and preferred:
            return preferred
        return (s.sigma_map or DEFAULT_SIGMA_MAP, DEFAULT_SIGMA_ONE if s.sigma_one is None else s.sigma_one)

    def with_settings(self, **changes) -> "Pipeline":
        """A pipeline sharing this one's plugins with some settings changed."""
        clone = object.__new__(Pipeline)
        clone.__dict__.update(self.__dict__)
        clone.settings = replace(self.settings, **changes)
        clone.scorer = clone._tuned(self.scorer)
        map_name, clone.sigma_one = clone._sigma_choice()
        clone.sigma_map = self.registry.create("sigma_map", map_name)
        return clone

    def with_fit(self, fit: str | FitRule | None) -> "Pipeline":
        """A pipeline sharing this one's plugins that fits its inputs to ``fit`` (None: no fit)."""
        clone = object.__new__(Pipeline)
        clone.__dict__.update(self.__dict__)
        clone.fit = resolve_fit(fit, self.registry)
        return clone

    def prefilter(self, image, prompt: str = "", *, regions: Sequence[Box] = ()) -> PrefilterResult:
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
        array, notes = _as_array(image)
        fitted = self._fit(array, regions)
        if fitted is not None:
            array, regions = fitted.image, fitted.regions
            notes += fitted.notes
        if self.scorer.random_weights:
            notes.append(f"scorer {self.scorer.name} has RANDOM-INIT weights: its relevance map carries no meaning")
        start = time.perf_counter()
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
        score_map = self._score(array, text, regions)
        check_cancelled()
        sigma_field = SigmaField(self._sigma(score_map.scores), score_map.grid)
        filtered = apply_profile(array, sigma_field, self.settings)
        check_cancelled()
        return PrefilterResult(
            filtered, score_map, sigma_field, text, time.perf_counter() - start, self.scorer.describe(), tuple(notes),
            original_size=fitted.original_size if fitted else None, fit=fitted.target if fitted else None,
        )

    def _fit(self, array: np.ndarray, regions: Sequence[Box]) -> Fitted | None:
        return None if self.fit is None else apply_fit(array, self.fit, regions)

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

    def _encode_pixels(self, pixels: np.ndarray, quality: float | None, **targets) -> EncodedImage:
        check_cancelled()
        ref = self._ref("codec", self.codec)
        encoded = self._call("codec", self.codec, encode_pixels, self.codec, pixels, quality, **targets)
        if not isinstance(encoded, EncodedImage):
            raise malformed(ref, f"{type(encoded).__name__}, not an EncodedImage")
        if not isinstance(encoded.data, bytes) or not encoded.data:
            raise malformed(ref, "an empty bitstream")
        return encoded

    def encode(
        self,
        image,
        prompt: str = "",
        *,
        quality: float | None = None,
        regions: Sequence[Box] = (),
        prefilter: bool = True,
        target_bytes: int | None = None,
        target_bpp: float | None = None,
    ) -> EncodedImage:
        """Prefilter (unless ``prefilter=False``) and encode; timings include the prefilter.

        ``target_bytes``/``target_bpp`` replace ``quality``: the best quality
        that fits is searched (:mod:`pgpcodec.ratecontrol`).
        """
        if prefilter:
            result = self.prefilter(image, prompt, regions=regions)
            return self.encode_filtered(result, quality, target_bytes=target_bytes, target_bpp=target_bpp)
        pixels, notes = _as_array(image)
        fitted = self._fit(pixels, ())
        encoded = self._encode_pixels(fitted.image if fitted else pixels, quality, target_bytes=target_bytes, target_bpp=target_bpp)
        encoded = with_original_size(encoded, fitted.original_size, fitted.target) if fitted else encoded
        notes = (*notes, *(fitted.notes if fitted else ()), *codec_notes(self.codec), *encoded.notes)
        return replace(encoded, timings={"prefilter": 0.0, **encoded.timings}, notes=notes)

    def encode_filtered(
        self,
        result: PrefilterResult,
        quality: float | None = None,
        *,
        target_bytes: int | None = None,
        target_bpp: float | None = None,
    ) -> EncodedImage:
        """Encode an already prefiltered image; its prefilter time goes into the timings, its notes into the notes."""
        encoded = self._encode_pixels(result.image, quality, target_bytes=target_bytes, target_bpp=target_bpp)
        if result.original_size is not None:
            encoded = with_original_size(encoded, result.original_size, result.fit)
        notes = (*result.notes, *codec_notes(self.codec), *encoded.notes)
        return replace(encoded, timings={"prefilter": result.seconds, **encoded.timings}, notes=notes)

    def decode(self, data: bytes) -> np.ndarray:
        return self._call("codec", self.codec, self.codec.decode, data)

    def decode_timed(self, encoded: EncodedImage) -> tuple[np.ndarray, EncodedImage]:
        """Decode ``encoded``; return the pixels and ``encoded`` with ``timings["decode"]`` added."""
        start = time.perf_counter()
        pixels = self.decode(encoded.data)
        return pixels, replace(encoded, timings={**encoded.timings, "decode": time.perf_counter() - start})


@functools.lru_cache(maxsize=4)
def _cached_pipeline(scorer: str, codec: str, settings: PrefilterSettings, codec_options: tuple, fit: str | None = None) -> Pipeline:
    return Pipeline(scorer=scorer, codec=codec, settings=settings, codec_options=dict(codec_options), fit=fit)


def encode(
    image,
    prompt: str = "",
    *,
    scorer: str = "tinyclip57",
    codec: str = "jpeg",
    quality: float | None = None,
    regions: Sequence[Box] = (),
    target_bytes: int | None = None,
    target_bpp: float | None = None,
    codec_options: dict | None = None,
    fit: str | None = None,
    **settings,
) -> EncodedImage:
    """One-shot encode. The last few pipelines are kept, so repeated calls do not reload a model.

    ``fit`` names a VLM target (``"qwen2.5-vl"``, ``"max-side:1568"`` …): the
    image is downsized to what that model sees before scoring and encoding.
    """
    options = tuple(sorted((codec_options or {}).items()))
    pipeline = _cached_pipeline(scorer, codec, PrefilterSettings(**settings), options, fit)
    return pipeline.encode(image, prompt, quality=quality, regions=regions, target_bytes=target_bytes, target_bpp=target_bpp)
