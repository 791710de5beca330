"""The four plugin interfaces and their small frozen result types.

Data flow (see docs/architecture.md)::

    prompt ──PromptProcessor──▶ text
    image + text ──Scorer──▶ ScoreMap ──SigmaMap──▶ SigmaField
    image + SigmaField ──filter profile──▶ filtered image ──Codec──▶ EncodedImage

Images travel as ``numpy.ndarray`` of shape (H, W, 3), dtype uint8, RGB.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only in annotations: plugin modules import this file, and stay light to load
    import numpy as np

from .errors import PluginError, UsageError

Box = tuple[int, int, int, int]
"""A region ``(x0, y0, x1, y1)`` in original-image pixels, end exclusive."""

BENCH_FRACTIONS = (0.2, 0.4, 0.6, 0.8)
"""Where along a codec's worst → best range its default bench qualities lie (:attr:`Codec.bench_qualities`)."""

Progress = Callable[[str, int, int], None]
"""``progress(task, done, total)``: how long operations report where they are (the CLI draws bars).
Called with ``done == total`` when ``task`` ends; library code never prints."""


@dataclass(frozen=True)
class BlockGrid:
    """Geometry of a grid of square blocks laid over a (possibly resized) image.

    ``grid_size`` is the (width, height) in pixels of the image the blocks
    tile: the resized working image for tile scorers, the original image for
    per-pixel scorers (``block == 1``). ``image_size`` is the original
    (width, height); the grid maps onto it by scaling each axis separately.
    """

    block: int
    grid_size: tuple[int, int]
    image_size: tuple[int, int]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the block grid."""
        width, height = self.grid_size
        return (height // self.block, width // self.block)


@dataclass(frozen=True)
class ScoreMap:
    """Relevance of each block of a :class:`BlockGrid` to the prompt.

    Tile scorers give softmax scores with mean 1 (1 = average relevance);
    the ``regions`` scorer gives 1 inside the marked regions falling to 0
    outside. ``tile_scores`` keeps the per-tile values when there were tiles.
    """

    scores: np.ndarray
    grid: BlockGrid
    prompt_used: str | None = None
    tile_scores: np.ndarray | None = None
    tile_positions: np.ndarray | None = None
    nothing_relevant: bool = False
    """The scorer found nothing it looks for (``text`` on a photo without text); ``scores`` hold its fallback."""
    parts: tuple = ()
    """For a combined scorer ``A+B``: (label, normalised relevance per original pixel) of each part."""

    def __post_init__(self) -> None:
        if self.scores.shape != self.grid.shape:
            raise ValueError(f"scores have shape {self.scores.shape}, grid needs {self.grid.shape}")


@dataclass(frozen=True)
class SigmaField:
    """Gaussian σ (in original-image pixels) for each block of ``grid``."""

    sigma: np.ndarray
    grid: BlockGrid

    def __post_init__(self) -> None:
        if self.sigma.shape != self.grid.shape:
            raise ValueError(f"sigma has shape {self.sigma.shape}, grid needs {self.grid.shape}")


@dataclass(frozen=True)
class EncodedImage:
    """One encoded image: the bitstream plus what it cost.

    ``bpp`` is counted on the original width × height, whatever the codec
    padded internally. ``timings`` holds seconds per stage (``prefilter``,
    ``encode``, ``decode`` when measured). ``notes`` says what a reader of the
    figures must know: what was done to the input (first frame only, alpha
    dropped, …) and when a scorer or codec runs RANDOM-INIT weights.
    """

    data: bytes
    codec: str
    quality: float
    width: int
    height: int
    extension: str
    mime_type: str
    timings: Mapping[str, float] = field(default_factory=dict)
    original_width: int | None = None
    """Width of the input before ``fit`` downsized it (None: not fitted, same as ``width``)."""
    original_height: int | None = None
    fit: str | None = None
    """The fit target the input was downsized for (see :mod:`pgpcodec.fit`), if any."""
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "timings", MappingProxyType(dict(self.timings)))
        object.__setattr__(self, "notes", tuple(str(note) for note in self.notes))

    @property
    def bpp(self) -> float:
        return 8.0 * len(self.data) / (self.width * self.height)

    def to_dict(self) -> dict:
        """Metadata without the bitstream, for JSON output."""
        return {
            "codec": self.codec,
            "quality": self.quality,
            "width": self.width,
            "height": self.height,
            "bytes": len(self.data),
            "bpp": self.bpp,
            "extension": self.extension,
            "mime_type": self.mime_type,
            "timings": dict(self.timings),
            "original_width": self.width if self.original_width is None else self.original_width,
            "original_height": self.height if self.original_height is None else self.original_height,
            "fit": self.fit,
            "notes": list(self.notes),
        }


class PromptProcessor(ABC):
    """Turns the user's prompt into the text the scorer embeds."""

    name: str = ""

    @abstractmethod
    def process(self, prompt: str, fits: Callable[[str], bool] | None = None) -> str:
        """Return the text to embed.

        ``fits`` tells whether a candidate text fits the scorer's text
        context (counted in real tokenizer tokens); ``None`` means no limit.
        """


class Scorer(ABC):
    """Scores how relevant each part of an image is to a prompt."""

    name: str = ""
    prompt_guided: bool = True
    """False for scorers that ignore the prompt (uniform, saliency)."""
    preferred_sigma_map: tuple[str, float] | None = None
    """(sigma map name, σ_1) this scorer's scores are meant for; None means the default."""
    random_weights: bool = False
    """True for a model with randomly initialised weights: its scores carry no meaning, only its speed does."""
    logit_scale: float | None = None
    """Softmax scale α, for scorers whose scores are a softmax of similarities; the pipeline
    sets it from its settings on a shallow copy. None: the scorer has no such scale."""
    needs_regions: bool = False
    """True for a scorer that cannot score without regions (``regions``): bench skips it on a dataset that has none."""

    @abstractmethod
    def score(self, image: np.ndarray, prompt: str, *, regions: Sequence[Box] = ()) -> ScoreMap:
        """Score ``image`` (H, W, 3 uint8) against the already processed ``prompt``."""

    def fits_context(self, text: str) -> bool:
        """Whether ``text`` fits the scorer's text context; unlimited by default."""
        return True

    def describe(self) -> str:
        """A short label for reports and explain pictures; says so when weights are random."""
        return f"{self.name} (RANDOM-INIT weights)" if self.random_weights else self.name


class SigmaMap(ABC):
    """Maps block scores to Gaussian σ."""

    name: str = ""

    @abstractmethod
    def __call__(self, scores: np.ndarray, *, sigma_max: float, sigma_one: float) -> np.ndarray:
        """σ for each score; σ_1 is the σ at score 1, σ_max the largest σ."""


class Codec(ABC):
    """An unmodified standard encoder/decoder.

    Subclasses implement :meth:`_encode` and :meth:`decode`; :meth:`encode`
    validates the quality, converts the input to RGB and times the call.
    ``quality_range`` is inclusive; ``higher_is_better`` is False for codecs
    whose setting is a quantiser (VVC's QP).
    """

    name: str = ""
    extension: str = ""
    mime_type: str = "application/octet-stream"
    quality_range: tuple[int, int] = (0, 100)
    default_quality: int = 75
    higher_is_better: bool = True
    quality_label: str = "quality"
    random_weights: bool = False
    """True for a learned codec running randomly initialised weights: only its speed means anything."""
    progress: Progress | None = None
    """Set by a caller that wants progress reports from a slow codec (cheng2020); codecs may ignore it."""

    def validate_quality(self, quality: float | None) -> int:
        if quality is None:
            return self.default_quality
        low, high = self.quality_range
        if isinstance(quality, bool) or not float(quality).is_integer() or not low <= quality <= high:
            shown = f"{quality:g}" if isinstance(quality, (int, float)) else repr(quality)
            raise UsageError(
                f"{self.quality_label} {shown} is out of range for codec {self.name!r}",
                f"use a whole number from {low} to {high}",
                parameter="quality",
            )
        return int(quality)

    def qualities_worst_to_best(self) -> list[int]:
        low, high = self.quality_range
        values = list(range(low, high + 1))
        return values if self.higher_is_better else values[::-1]

    @property
    def bench_qualities(self) -> tuple[float, ...]:
        """The settings ``pgpcodec bench`` sweeps unless told otherwise, worst to best.

        A codec sets its own as a class attribute (``bench_qualities = (20, 35, 50, 75)``);
        without one, four settings 20, 40, 60 and 80 % along its worst → best range.
        """
        ladder = self.qualities_worst_to_best()
        return tuple(sorted({ladder[round(f * (len(ladder) - 1))] for f in BENCH_FRACTIONS}, key=ladder.index))

    @abstractmethod
    def _encode(self, image: np.ndarray, quality: int) -> bytes:
        """Encode an (H, W, 3) uint8 RGB array."""

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Decode a bitstream made by :meth:`_encode` to (H, W, 3) uint8 RGB."""

    def accepts(self, data: bytes) -> bool:
        """Whether ``data`` looks like this codec's bitstream (used to pick a decoder)."""
        return False

    def encode(self, image: np.ndarray, quality: float | None = None) -> EncodedImage:
        from .imaging import as_rgb_array

        q = self.validate_quality(quality)
        rgb = as_rgb_array(image)
        start = time.perf_counter()
        data = self._encode(rgb, q)
        elapsed = time.perf_counter() - start
        if not isinstance(data, (bytes, bytearray)) or not data:
            what = "empty bytes" if isinstance(data, (bytes, bytearray)) else type(data).__name__
            raise PluginError(f"codec {self.name!r} returned {what}, not a non-empty bitstream")
        height, width = rgb.shape[:2]
        return EncodedImage(
            data=bytes(data),
            codec=self.name,
            quality=q,
            width=width,
            height=height,
            extension=self.extension,
            mime_type=self.mime_type,
            timings={"encode": elapsed},
        )
