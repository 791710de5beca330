"""The prompt-guided pipeline: a :class:`~pgpcodec.prefilter.Prefilter`, then a codec.

A :class:`Pipeline` is a prefilter (prompt → scores → σ → filtered image,
see :mod:`pgpcodec.prefilter`) and a guarded codec
(:mod:`pgpcodec.codec_guard`) after it. Both are made once and can be
shared between threads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .cancel import check_cancelled
from .codec_guard import GuardedCodec, encode_pixels, guarded
from .defaults import DEFAULT_CODEC, DEFAULT_PROMPT_PROCESSOR, DEFAULT_SCORER
from .errors import UsageError
from .fit import FitRule
from .fit import resolve as resolve_fit
from .interfaces import Box, Codec, EncodedImage, PromptProcessor, Scorer
from .plugins import PluginRegistry, get_registry
from .prefilter import Prefilter, PrefilterResult, PrefilterSettings, plugin_ref, prepare_input

__all__ = ["Pipeline", "Prefilter", "PrefilterResult", "PrefilterSettings", "codec_notes", "encode", "encode_pixels", "with_original_size"]


def with_original_size(encoded: EncodedImage, original_size: tuple[int, int], fit: str | None) -> EncodedImage:
    """``encoded`` recording the size of the input before it was fitted."""
    return replace(encoded, original_width=int(original_size[0]), original_height=int(original_size[1]), fit=fit)


def codec_notes(codec: Codec) -> list[str]:
    """What a reader of a codec's figures must know: RANDOM-INIT weights make its size and quality meaningless."""
    if codec.random_weights:
        return [f"codec {codec.name} has RANDOM-INIT weights: its size and quality mean nothing"]
    return []


class Pipeline:
    """Reusable, thread-safe prompt-guided encoder: ``Pipeline(prefilter, codec)``.

    >>> pipe = Pipeline(Prefilter("regions"), "jpeg")                # doctest: +SKIP
    >>> pipe = Pipeline(scorer="regions", codec="jpeg")             # the same, built here   # doctest: +SKIP
    >>> result = pipe.encode("photo.jpg", "What colour is the cup?", quality=50,
    ...                      regions=[(10, 10, 120, 90)])        # doctest: +SKIP

    ``prefilter`` is a :class:`~pgpcodec.prefilter.Prefilter`, or a scorer
    (a name or a :class:`~pgpcodec.interfaces.Scorer`) to build one from the
    keyword arguments, or None for a plain codec (``encode_plain`` only).
    ``pipe.prefilter(image, prompt, regions=...)`` runs the prefilter alone.
    """

    def __init__(
        self,
        prefilter: Prefilter | str | Scorer | None = DEFAULT_SCORER,
        codec: str | Codec | GuardedCodec = DEFAULT_CODEC,
        *,
        scorer: str | Scorer | None = None,
        prompt_processor: str | PromptProcessor = DEFAULT_PROMPT_PROCESSOR,
        settings: PrefilterSettings | None = None,
        scorer_options: dict | None = None,
        codec_options: dict | None = None,
        registry: PluginRegistry | None = None,
        plugin_timeout: float | None = None,
        fit: str | FitRule | None = None,
    ):
        self.registry = registry or (prefilter.registry if isinstance(prefilter, Prefilter) else get_registry())
        # The codec first: a mistyped codec is reported before a model is loaded (or found missing).
        self.codec: GuardedCodec = self._codec(codec, codec_options, plugin_timeout)
        if scorer is not None:
            prefilter = scorer
        if isinstance(prefilter, Prefilter):
            given = {"settings": settings, "scorer_options": scorer_options, "fit": fit}
            given["prompt_processor"] = None if prompt_processor == DEFAULT_PROMPT_PROCESSOR else prompt_processor
            ignored = sorted(name for name, value in given.items() if value is not None)
            if ignored:  # they belong to the Prefilter, which is already built: never drop them silently
                raise UsageError(
                    f"{', '.join(ignored)} cannot be given with a ready Prefilter",
                    "build the Prefilter with them (Prefilter(..., settings=...)), or pass a scorer name instead",
                    parameter=ignored[0],
                )
            self.prefilter: Prefilter | None = prefilter if plugin_timeout is None else prefilter.with_timeout(plugin_timeout)
            self._plain_fit = prefilter.fit
        elif prefilter is None:
            self.prefilter, self._plain_fit = None, resolve_fit(fit, self.registry)
        else:
            self.prefilter = Prefilter(
                prefilter, prompt_processor=prompt_processor, settings=settings, scorer_options=scorer_options,
                registry=self.registry, plugin_timeout=plugin_timeout, fit=fit,
            )
            self._plain_fit = self.prefilter.fit

    def _codec(self, codec, options: dict | None, plugin_timeout: float | None) -> GuardedCodec:
        if isinstance(codec, str):
            return self.registry.codec(codec, plugin_timeout=plugin_timeout, **(options or {}))
        if isinstance(codec, GuardedCodec):
            return codec if plugin_timeout is None else codec.with_timeout(plugin_timeout)
        return guarded(codec, plugin_ref(self.registry, "codec", codec), plugin_timeout)

    # The prefilter's set-up, read through the pipeline.
    def _stage(self) -> Prefilter:
        if self.prefilter is None:
            raise UsageError("this pipeline has no prefilter: it only encodes images as they are")
        return self.prefilter

    scorer = property(lambda self: self._stage().scorer)
    prompt_processor = property(lambda self: self._stage().prompt_processor)
    settings = property(lambda self: self._stage().settings)
    sigma_map = property(lambda self: self._stage().sigma_map)
    sigma_one = property(lambda self: self._stage().sigma_one)
    fit = property(lambda self: self._plain_fit)
    plugin_timeout = property(lambda self: self.codec.plugin_timeout)

    def with_settings(self, **changes) -> "Pipeline":
        """A pipeline sharing this one's plugins with some settings changed."""
        return Pipeline(self._stage().with_settings(**changes), self.codec)

    def with_fit(self, fit: str | FitRule | None) -> "Pipeline":
        """A pipeline sharing this one's plugins that fits its inputs to ``fit`` (None: no fit)."""
        if self.prefilter is None:
            return Pipeline(None, self.codec, fit=fit, registry=self.registry)
        return Pipeline(self.prefilter.with_fit(fit), self.codec)

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
            result = self._stage().run(image, prompt, regions=regions)
            return self.encode_filtered(result, quality, target_bytes=target_bytes, target_bpp=target_bpp)
        encoded = self.encode_plain(image, quality, target_bytes=target_bytes, target_bpp=target_bpp)
        return replace(encoded, timings={"prefilter": 0.0, **encoded.timings})

    def encode_plain(self, image, quality: float | None = None, *, target_bytes: int | None = None, target_bpp: float | None = None) -> EncodedImage:
        """Encode ``image`` as it is (fitted when the pipeline has a fit): the plain-codec anchor."""
        prepared = prepare_input(image, (), self._plain_fit)
        encoded = self._encode_pixels(prepared.image, quality, target_bytes=target_bytes, target_bpp=target_bpp)
        fitted = prepared.fitted
        encoded = with_original_size(encoded, fitted.original_size, fitted.target) if fitted else encoded
        return replace(encoded, notes=(*prepared.notes, *codec_notes(self.codec), *encoded.notes))

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

    def _encode_pixels(self, pixels: np.ndarray, quality: float | None, **targets) -> EncodedImage:
        check_cancelled()
        return self.codec.encode(pixels, quality, **targets)

    def decode(self, data: bytes) -> np.ndarray:
        return self.codec.decode(data)

    def decode_timed(self, encoded: EncodedImage) -> tuple[np.ndarray, EncodedImage]:
        """Decode ``encoded``; return the pixels and ``encoded`` with ``timings["decode"]`` added."""
        start = time.perf_counter()
        pixels = self.decode(encoded.data)
        return pixels, replace(encoded, timings={**encoded.timings, "decode": time.perf_counter() - start})


def encode(
    image,
    prompt: str = "",
    *,
    scorer: str = DEFAULT_SCORER,
    codec: str = DEFAULT_CODEC,
    quality: float | None = None,
    regions: Sequence[Box] = (),
    target_bytes: int | None = None,
    target_bpp: float | None = None,
    codec_options: dict | None = None,
    fit: str | None = None,
    **settings,
) -> EncodedImage:
    """One-shot encode. Prefilters and codecs come from :data:`pgpcodec.loaded.LOADED`, so repeated
    calls do not reload a model.

    ``fit`` names a VLM target (``"qwen2.5-vl"``, ``"max-side:1568"`` …): the
    image is downsized to what that model sees before scoring and encoding.
    """
    from .loaded import LOADED

    registry = get_registry()
    guarded_codec = LOADED.codec(codec, registry=registry, options=codec_options)  # first: a mistyped codec loads no model
    prefilter = LOADED.prefilter(scorer, settings=PrefilterSettings(**settings), fit=fit, registry=registry)
    pipeline = Pipeline(prefilter, guarded_codec)
    return pipeline.encode(image, prompt, quality=quality, regions=regions, target_bytes=target_bytes, target_bpp=target_bpp)
