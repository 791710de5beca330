"""Scorers that combine: ``--scorer A+B`` (e.g. ``tinyclip57+text``, ``spectral-residual+text``).

Any registered scorers, third-party ones too, combine by one rule
(docs/scorers.md, "Combined scorers"):

1. each part scores the image and its scores become σ by the part's own
   sigma map (the one it would get alone: the user's ``sigma_map``/
   ``sigma_one`` if given, else the part's preference, else exponential),
   interpolated to every original pixel;
2. each part's *normalised relevance* is ``r = 1 − σ/σ_max`` (1 = kept
   sharp, 0 = blurred with σ_max), so parts with different score scales
   (tile softmax with mean 1, region relevance in [0, 1]) compare;
3. the combined relevance is the pixel-wise maximum of the parts';
4. it goes through the linear map with σ_1 = 0, σ = σ_max · (1 − r): one σ
   map, which is the pixel-wise minimum of the parts' σ.

A part that finds nothing (``ScoreMap.nothing_relevant``, e.g. ``text`` on
a photo without text) adds relevance 0 and leaves the decision to the
others; if every part finds nothing, the first part's own map is used.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .defaults import COMBINED_SIGMA_MAP
from .errors import UsageError
from .interfaces import BlockGrid, Box, ScoreMap, Scorer

SEPARATOR = "+"


def split_name(name: str) -> list[str] | None:
    """The part names of ``"a+b"``, or None for a plain name."""
    if SEPARATOR not in name:
        return None
    parts = [part.strip() for part in name.split(SEPARATOR)]
    if len(parts) < 2 or not all(parts):
        raise UsageError(f"scorer {name!r} is not a combination A+B", "write it as e.g. spectral-residual+text")
    if len(set(parts)) != len(parts):
        raise UsageError(f"scorer {name!r} names a part twice")
    return parts


def relevance_from_sigma(sigma: np.ndarray, sigma_max: float) -> np.ndarray:
    """Normalised relevance ``1 − σ/σ_max`` in [0, 1]; everything is relevant when σ_max is 0."""
    sigma = np.asarray(sigma, dtype=np.float32)
    if sigma_max <= 0:
        return np.ones_like(sigma)
    return np.clip(1.0 - sigma / np.float32(sigma_max), 0.0, 1.0)


def combine_relevance(relevances: Sequence[np.ndarray]) -> np.ndarray:
    """The pixel-wise maximum of the parts' normalised relevance."""
    if not relevances:
        raise ValueError("nothing to combine")
    return np.maximum.reduce([np.asarray(r, dtype=np.float32) for r in relevances])


def part_options(parts: Sequence[str], factories: Sequence[Callable], options: dict) -> list[dict]:
    """Split scorer options among the parts.

    ``NAME.key=value`` goes to part NAME only; a plain ``key=value`` goes to
    every part whose factory takes ``key`` (and must be taken by one).
    """
    split: list[dict] = [{} for _ in parts]
    for key, value in options.items():
        prefix, dot, rest = key.partition(".")
        if dot:
            if prefix not in parts:
                raise UsageError(f"scorer option {key!r} names no part of {SEPARATOR.join(parts)}", f"prefix with one of: {', '.join(parts)}")
            split[parts.index(prefix)][rest] = value
            continue
        takers = [i for i, factory in enumerate(factories) if _accepts(factory, key)]
        if not takers:
            raise UsageError(
                f"no part of scorer {SEPARATOR.join(parts)} takes option {key!r}", "prefix it with the part's name, e.g. text.margin=4"
            )
        for i in takers:
            split[i][key] = value
    return split


def _accepts(factory: Callable, key: str) -> bool:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind is p.VAR_KEYWORD or (p.name == key and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)) for p in params)


@dataclass(frozen=True)
class Part:
    name: str
    scorer: Scorer
    plugin: str


class CombinedScorer(Scorer):
    """Several scorers whose relevance is combined by the rule in this module's docstring.

    :meth:`score` alone uses the default filter settings to normalise;
    :class:`~pgpcodec.prefilter.Prefilter` calls :meth:`score_with` with its
    own settings and guards each part's call separately.
    """

    preferred_sigma_map = COMBINED_SIGMA_MAP

    def __init__(self, parts: Sequence[Part]):
        self.parts = tuple(parts)
        self.name = SEPARATOR.join(part.name for part in self.parts)
        self.prompt_guided = any(part.scorer.prompt_guided for part in self.parts)
        self.random_weights = any(part.scorer.random_weights for part in self.parts)

    def fits_context(self, text: str) -> bool:
        return all(part.scorer.fits_context(text) for part in self.parts)

    def describe(self) -> str:
        return SEPARATOR.join(part.scorer.describe() for part in self.parts)

    def score(self, image: np.ndarray, prompt: str, *, regions: Sequence[Box] = ()) -> ScoreMap:
        from .defaults import NO_PROMPT_PROCESSOR
        from .prefilter import Prefilter, PrefilterSettings
        from .plugins import get_registry

        prefilter = Prefilter(self, prompt_processor=NO_PROMPT_PROCESSOR, settings=PrefilterSettings(), registry=get_registry())
        return prefilter._score(image, prompt, tuple(regions))

    def score_with(
        self,
        image: np.ndarray,
        prompt: str,
        regions: Sequence[Box],
        *,
        score_part: Callable[[Part, np.ndarray, str, tuple], ScoreMap],
        part_sigma: Callable[[Part, ScoreMap], np.ndarray],
        sigma_max: float,
    ) -> ScoreMap:
        """Combine the parts: ``score_part`` scores one part, ``part_sigma`` gives its σ per original pixel."""
        height, width = image.shape[:2]
        labelled: list[tuple[str, np.ndarray]] = []
        relevances: list[np.ndarray] = []
        first: ScoreMap | None = None
        for part in self.parts:
            part_map = score_part(part, image, prompt, tuple(regions))
            if part_map.nothing_relevant:
                relevance = np.zeros((height, width), dtype=np.float32)
                first = first or part_map
            else:
                relevance = relevance_from_sigma(part_sigma(part, part_map), sigma_max)
                relevances.append(relevance)
            labelled.append((part.scorer.describe(), relevance))
        if not relevances:
            # Every part found nothing: the first part's own map (its documented fallback) decides.
            relevance = relevance_from_sigma(part_sigma(self.parts[0], first), sigma_max)
            nothing = True
        else:
            relevance = combine_relevance(relevances)
            nothing = False
        grid = BlockGrid(1, (width, height), (width, height))
        return ScoreMap(relevance.astype(np.float64), grid, prompt_used=prompt, parts=tuple(labelled), nothing_relevant=nothing)


def build_combined(registry, name: str, options: dict) -> CombinedScorer:
    """A CombinedScorer for ``"a+b"`` from the registry's scorers (third-party ones too)."""
    names = split_name(name)
    assert names is not None
    registrations = [registry.registration("scorer", part) for part in names]
    split = part_options(names, [reg.factory for reg in registrations], options)
    parts = [
        Part(part, registry.create("scorer", part, **opts), reg.plugin) for part, reg, opts in zip(names, registrations, split)
    ]
    return CombinedScorer(parts)
