"""The ``tinyclip`` scorer: CLIP vision and text graphs run by ONNX Runtime.

A model directory (docs/scorers.md) holds the graphs, the tokenizer and a
manifest. ``tinyclip`` takes ``model=`` (an installed name or a path);
``tinyclip23``, ``tinyclip57``, ``tinyclip61`` and ``tinyclip120`` are the
same scorer bound to the installed model of that name.

Registering imports neither onnxruntime nor tokenizers: both load when a
scorer is created, so ``pgpcodec plugins`` stays fast.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable

import numpy as np

from pgpcodec.errors import InvalidModelError, UsageError
from pgpcodec.extras import require
from pgpcodec_scorers.tinyclip.cache import is_model_name, repair_hint, resolve_model
from pgpcodec.defaults import DEFAULT_LOGIT_SCALE, DEFAULT_TARGET_TILES, DEFAULT_TILING
from pgpcodec.tile_scorer import TileScorer

from . import DEFAULT_MODEL
# int8 quantises the vision graph only: the text graph runs once per prompt (its embedding
# is cached), so int8 text would save no time, and its error moves every tile's score
# (benchmarks/bench_scorer.py: worst score-map correlation with fp32 0.989 with int8 text,
# 0.996 without, random-init TinyCLIP-auto-ViT-22M-32-Text-10M).
PRECISIONS = {"fp32": ("vision", "text"), "int8": ("vision_int8", "text")}
DEFAULT_BATCH_SIZE = 16
TEXT_CACHE_SIZE = 256
VISION_IO = ("pixel_values", "image_embeds")
TEXT_IO = ("input_ids", "text_embeds")
RUNTIME = {"onnxruntime": "onnxruntime", "tokenizers": "tokenizers"}
"""What a scorer runs on (import name: pip name), the ``tinyclip`` extra."""


def available_cores() -> int:
    """Cores this process may run on (respects CPU affinity, e.g. taskset or a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def session_options(threads: int):
    """ONNX Runtime settings for a small CLIP graph on CPU; each choice is deliberate.

    - Graph optimisation ALL: constant folding plus the layout and operator
      fusions (attention, GELU, LayerNorm, MatMul+Add) that make a ViT fast
      on CPU. It costs a little once, when the session is created.
    - Sequential execution: a CLIP encoder is one chain of operators, so the
      parallel executor has nothing to overlap and only adds scheduling
      overhead; the speed comes from splitting each operator across threads.
    - intra-op threads = ``threads`` (default: every core we may run on);
      inter-op threads = 1, as sequential execution never uses them.
    - Log severity "error": onnxruntime's warnings about unused initialisers
      and the like are noise for users.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


def _positive_whole(option: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{option} must be a whole number >= 1, got {value!r}")
    return value


def _dimension_mismatch(actual: list, expected: list) -> bool:
    """True when a fixed dimension of a graph differs from the manifest (symbolic ones always match)."""
    return len(actual) != len(expected) or any(
        isinstance(a, int) and isinstance(e, int) and a != e for a, e in zip(actual, expected)
    )


class TinyClipScorer(TileScorer):
    """Tile scores from a CLIP-style model exported to ONNX.

    Options: ``model`` (installed name such as ``tinyclip57``, or a path to a
    model directory), ``precision`` (``fp32`` or ``int8``; int8 needs the
    model's int8 vision graph), ``threads`` (intra-op threads, default all cores),
    ``batch_size`` (tiles per vision run), plus the TileScorer options
    ``target_tiles``, ``logit_scale`` (default 20, the paper's α, not the model's own; a pipeline sets it from ``--logit-scale``),
    ``overlap`` and ``tiling`` (``reference`` or ``proxy``). Safe to share
    between threads: onnxruntime sessions and tokenizers may be called
    concurrently, and the text cache is locked.
    """

    name = "tinyclip"

    def __init__(
        self,
        *,
        model: str | os.PathLike = DEFAULT_MODEL,
        precision: str = "fp32",
        threads: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        target_tiles: int = DEFAULT_TARGET_TILES,
        logit_scale: float = DEFAULT_LOGIT_SCALE,
        overlap: bool = True,
        tiling: str = DEFAULT_TILING,
    ):
        require(RUNTIME, "tinyclip", "the tinyclip scorer")
        super().__init__(target_tiles=target_tiles, logit_scale=logit_scale, overlap=overlap, tiling=tiling)
        if precision not in PRECISIONS:
            raise UsageError(f"unknown precision {precision!r} for scorer tinyclip", f"choose one of: {', '.join(PRECISIONS)}")
        threads = _positive_whole("threads", available_cores() if threads is None else threads)
        batch_size = _positive_whole("batch_size", batch_size)
        self.manifest = resolve_model(model)
        self.random_weights = self.manifest.random_init
        if isinstance(model, str) and is_model_name(model):
            self.name = model
        self.precision = precision
        self.threads = threads
        self.batch_size = batch_size
        self.tile_size = self.manifest.image_size
        self.context_length = self.manifest.context_length
        vision_role, text_role = PRECISIONS[precision]
        if not (self.manifest.has(vision_role) and self.manifest.has(text_role)):
            raise UsageError(
                f"model {self.manifest.name!r} in {self.manifest.directory} has no int8 files",
                "use precision fp32, or re-export the model with its int8 graphs",
            )
        options = session_options(threads)
        self._vision = self._open_session(vision_role, options, VISION_IO, [None, 3, self.tile_size, self.tile_size])
        self._text = self._open_session(text_role, options, TEXT_IO, [None, self.context_length])
        self._tokenizer = self._load_tokenizer()
        self._cached_text_embedding: Callable[[str], np.ndarray] = functools.lru_cache(maxsize=TEXT_CACHE_SIZE)(
            self._compute_text_embedding
        )

    # -- loading ---------------------------------------------------------
    def _open_session(self, role: str, options, io_names: tuple[str, str], input_shape: list):
        import onnxruntime as ort

        path = self.manifest.path(role)
        try:
            session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise InvalidModelError(f"{path} cannot be loaded by onnxruntime: {exc}", repair_hint(self.manifest.directory)) from exc
        inputs, outputs = session.get_inputs(), session.get_outputs()
        input_name, output_name = io_names
        if [i.name for i in inputs] != [input_name] or output_name not in [o.name for o in outputs]:
            raise InvalidModelError(
                f"{path} has inputs {[i.name for i in inputs]} and outputs {[o.name for o in outputs]}",
                f"a {role} graph takes {input_name!r} and returns {output_name!r} (docs/scorers.md)",
            )
        output_shape = next(o.shape for o in outputs if o.name == output_name)
        if _dimension_mismatch(inputs[0].shape, input_shape) or _dimension_mismatch(output_shape, [None, self.manifest.embed_dim]):
            raise InvalidModelError(
                f"{path}: input {inputs[0].shape} and output {output_shape} do not match the manifest "
                f"(image_size {self.manifest.image_size}, context_length {self.context_length}, embed_dim {self.manifest.embed_dim})",
                "fix manifest.json or re-export the model",
            )
        return session

    def _load_tokenizer(self):
        from tokenizers import Tokenizer

        path = self.manifest.path("tokenizer")
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception on bad JSON
            raise InvalidModelError(f"{path} is not a tokenizers JSON file: {exc}", repair_hint(self.manifest.directory)) from exc
        # The scorer pads and truncates itself (open_clip semantics), whatever the file says.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        ids = tokenizer.encode("").ids
        if len(ids) < 2 or ids[-1] != max(tokenizer.get_vocab(with_added_tokens=True).values()):
            raise InvalidModelError(
                f"{path} does not end each text with an end-of-text token that has the largest id",
                "the text graph pools at argmax(input_ids): the tokenizer needs a post-processor adding start and end tokens",
            )
        return tokenizer

    # -- text ------------------------------------------------------------
    def token_ids(self, text: str) -> np.ndarray:
        """(context_length,) int64 ids: start + BPE + end, zero-padded; too long → cut, last id set to end."""
        ids = self._tokenizer.encode(text).ids
        if len(ids) > self.context_length:
            ids = ids[: self.context_length - 1] + ids[-1:]
        row = np.zeros(self.context_length, dtype=np.int64)
        row[: len(ids)] = ids
        return row

    def describe(self) -> str:
        return f"{super().describe()} [{self.manifest.architecture}, {self.precision}]"

    def fits_context(self, text: str) -> bool:
        """Whether ``text`` fits without truncation, start and end tokens included."""
        return len(self._tokenizer.encode(text).ids) <= self.context_length

    def _compute_text_embedding(self, text: str) -> np.ndarray:
        embedding = self._text.run([TEXT_IO[1]], {TEXT_IO[0]: self.token_ids(text)[None, :]})[0][0]
        embedding.flags.writeable = False  # shared by every caller through the cache
        return embedding

    def embed_text(self, text: str) -> np.ndarray:
        """(embed_dim,) text embedding, cached per text (LRU, thread-safe)."""
        return self._cached_text_embedding(text)

    def text_cache_info(self):
        """Hits, misses and size of the text-embedding cache (``functools`` cache info)."""
        return self._cached_text_embedding.cache_info()

    # -- image -----------------------------------------------------------
    def embed_tiles(self, tiles: np.ndarray) -> np.ndarray:
        """(n, 3, T, T) CLIP-normalised tiles → (n, embed_dim), ``batch_size`` tiles per run."""
        batches = [
            self._vision.run([VISION_IO[1]], {VISION_IO[0]: np.ascontiguousarray(tiles[start : start + self.batch_size])})[0]
            for start in range(0, len(tiles), self.batch_size)
        ]
        return np.concatenate(batches)


def _bound_to(model_name: str) -> Callable[..., TinyClipScorer]:
    def factory(**options) -> TinyClipScorer:
        if "model" in options:
            raise UsageError(
                f"scorer {model_name!r} always uses model {model_name!r}",
                "use scorer 'tinyclip' with model=... to choose another model",
            )
        return TinyClipScorer(model=model_name, **options)

    # The options it takes, for the check that lists them (pgpcodec.codec_options.check_options_accepted);
    # model stays in, so that giving it gets the clearer error above.
    factory.__signature__ = inspect.signature(TinyClipScorer)
    return factory


# One factory per model name, so the plugin's hooks can name them without importing this module.
tinyclip23 = _bound_to("tinyclip23")
tinyclip57 = _bound_to("tinyclip57")
tinyclip61 = _bound_to("tinyclip61")
tinyclip120 = _bound_to("tinyclip120")
