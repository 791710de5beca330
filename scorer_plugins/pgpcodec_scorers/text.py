"""The ``text`` scorer: keeps printed text sharp, with PaddleOCR's PP-OCRv4 models (extra ``text``).

The models are the ONNX files inside the ``rapidocr-onnxruntime`` wheel
(Apache-2.0), run on ONNX Runtime through rapidocr's own detector and
recogniser classes, so detection runs without recognition. How a detected
box is scored (docs/scorers.md, "text"):

- the processed prompt asks about text (a word of :data:`TEXT_WORDS`):
  every box gets relevance 1 (kept sharp) and nothing is recognised;
- otherwise each box is recognised, and a box whose text contains a word of
  the prompt gets 1;
- every other box gets ``other_relevance``; pixels outside the boxes get 0.

Relevance is per original pixel: 1 within ``margin`` pixels of a box,
falling linearly over ``ramp`` pixels, meant for the linear sigma map with
σ_1 = 0 (like ``regions``). Detection runs on a proxy: the shorter side
brought up to ``min_side`` (at most 2×), the longer side at most
``max_side``, so a large photo costs no more than a 1280-pixel one; the
boxes are mapped back to the photo. A photo without
text is "nothing relevant here" (``ScoreMap.nothing_relevant``): every pixel
gets ``fallback`` (1: the photo is left as it is), and in a combination
``A+text`` the other parts decide alone.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import numpy as np

from pgpcodec.errors import InvalidModelError, MissingResourceError, UsageError
from pgpcodec.interfaces import BlockGrid, Box, ScoreMap, Scorer

EXTRA_HINT = "pip install 'pgpcodec[text]'"
REINSTALL_HINT = "pip install --force-reinstall --no-deps rapidocr-onnxruntime==1.4.4"

TEXT_WORDS = frozenset(
    """
    text texts read reads reading write writes written writing wrote print prints printed say says said
    word words brand brands name names number numbers title titles label labels sign signs signage
    letter letters lettering logo logos inscription inscriptions inscribed caption captions spell spelled
    spelt digit digits slogan slogans headline headlines plate plates
    """.split()
)
"""Words that make a prompt ask about text, matched on the processed prompt's lower-cased words.

The nltk processor gives lemmas (``written`` → ``write``), the ``none``
processor the raw words, so both forms are listed. docs/scorers.md lists
them too (a test keeps the two the same).
"""

MIN_MATCH_LENGTH = 3
"""Prompt words shorter than this never match recognised text (``a``, ``of``)."""


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words of ``text``."""
    return re.findall(r"[0-9a-z]+", text.lower())


def asks_about_text(prompt: str) -> bool:
    """Whether the (processed) prompt asks about text: one of its words is in :data:`TEXT_WORDS`."""
    return any(word in TEXT_WORDS for word in words(prompt))


def text_matches_prompt(recognised: str, prompt: str) -> bool:
    """Whether a recognised box text contains a word of the prompt, case and punctuation ignored.

    Words of 3–4 letters must be read whole; longer ones may be found inside
    the squashed read with the ``ocr`` evaluator's tolerance (one edit per
    five letters), as recognition often misreads a letter ("HOPPEA").
    """
    found = set(words(recognised))
    squashed = "".join(words(recognised))
    for word in words(prompt):
        if len(word) < MIN_MATCH_LENGTH:
            continue
        if word in found or (len(word) >= 5 and substring_distance(word, squashed) <= int(DEFAULT_TOLERANCE * len(word))):
            return True
    return False


def drop_contained(boxes: Sequence[Box], share: float = 0.8) -> list[int]:
    """Indices of the boxes to keep: a box with ``share`` of its area inside a larger kept box goes
    (overlapping tiles find the same word twice, or a piece of it)."""
    area = [(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes]
    kept: list[int] = []
    for i in sorted(range(len(boxes)), key=lambda k: -area[k]):
        x0, y0, x1, y1 = boxes[i]
        inside = False
        for j in kept:
            a0, b0, a1, b1 = boxes[j]
            overlap = max(0, min(x1, a1) - max(x0, a0)) * max(0, min(y1, b1) - max(y0, b0))
            if overlap >= share * area[i]:
                inside = True
                break
        if not inside:
            kept.append(i)
    return sorted(kept)


MAX_UPSCALE = 2.0
DEFAULT_TILE = 320
"""Side of the square tiles the proxy is detected in (pixels of the proxy). The DB head's full-resolution
feature maps dominate peak memory and grow with the tile's area: 320 px adds ~60 MB less peak RSS than
480 px and still finds the dev photos' text (256 px loses the astronaut photo's box; benchmarks/bench_text.py)."""
TILE_OVERLAP = 64
"""Tiles overlap by this much, so a word on a tile border is whole in one of them (or in pieces in both)."""


def tile_origins(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` pixels covering ``length`` pixels, consecutive ones overlapping by ``overlap`` at least."""
    if length <= tile:
        return [0]
    count = -(-(length - overlap) // (tile - overlap))
    step = (length - tile) / (count - 1)
    return [round(i * step) for i in range(count)]


def proxy_scale(width: int, height: int, min_side: int, max_side: int) -> float:
    """The factor detection runs at: the shorter side up to ``min_side`` (at most 2×, as small text needs),
    then the longer side down to ``max_side`` at most (the bound on a large photo's cost)."""
    scale = min(MAX_UPSCALE, max(1.0, min_side / min(width, height)))
    return min(scale, max_side / max(width, height))


def quad_to_box(quad: np.ndarray, width: int, height: int) -> Box | None:
    """A quadrilateral (4, 2) in original pixels → the axis-aligned box around it (end exclusive), clipped; None if empty."""
    quad = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    x0, y0 = max(0, int(np.floor(quad[:, 0].min()))), max(0, int(np.floor(quad[:, 1].min())))
    x1, y1 = min(width, int(np.ceil(quad[:, 0].max())) + 1), min(height, int(np.ceil(quad[:, 1].max())) + 1)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def box_relevance(width: int, height: int, boxes: Sequence[Box], values: Sequence[float], margin: float, ramp: float) -> np.ndarray:
    """Per-pixel max over boxes of ``value · (1 within margin of the box, falling linearly to 0 over ramp)``.

    Each box touches only its own window (box + margin + ramp), so many
    boxes on a large photo stay cheap.
    """
    relevance = np.zeros((height, width), dtype=np.float32)
    reach = margin + ramp
    for (x0, y0, x1, y1), value in zip(boxes, values):
        if value <= 0:
            continue
        wx0, wy0 = max(0, int(x0 - reach)), max(0, int(y0 - reach))
        wx1, wy1 = min(width, int(np.ceil(x1 + reach))), min(height, int(np.ceil(y1 + reach)))
        xs = np.arange(wx0, wx1)
        ys = np.arange(wy0, wy1)
        dx = np.maximum(np.maximum(x0 - xs, xs - (x1 - 1)), 0).astype(np.float32)
        dy = np.maximum(np.maximum(y0 - ys, ys - (y1 - 1)), 0).astype(np.float32)
        distance = np.sqrt(dy[:, None] ** 2 + dx[None, :] ** 2)
        if ramp > 0:
            local = np.clip(1.0 - (distance - margin) / ramp, 0.0, 1.0)
        else:
            local = (distance <= margin).astype(np.float32)
        window = relevance[wy0:wy1, wx0:wx1]
        np.maximum(window, np.float32(value) * local, out=window)
    return relevance


class OcrEngine:
    """PP-OCRv4 detection and (loaded on first use) recognition, through rapidocr's own classes.

    Shared by the ``text`` scorer and the ``ocr`` evaluator. Thread-safe:
    ONNX Runtime sessions may be run concurrently; the lazy load is locked.
    """

    def __init__(self, *, threads: int = -1):
        try:
            import cv2  # noqa: F401  (rapidocr needs it; a missing one should name the extra)
            from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
            from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
            from rapidocr_onnxruntime.utils import read_yaml, update_model_path
        except ImportError as exc:
            raise MissingResourceError(
                f"the text scorer and the ocr evaluator need rapidocr-onnxruntime ({exc.name or exc} is not installed)", EXTRA_HINT
            ) from None
        self._config = update_model_path(read_yaml(str(DEFAULT_CFG_PATH)))
        for section in ("Det", "Rec"):
            self._config[section]["intra_op_num_threads"] = threads
            self._config[section]["inter_op_num_threads"] = threads
        self._lock = threading.Lock()
        self._recogniser = None
        self._detector_class = TextDetector
        self.detector = self._session(lambda: self._lean(TextDetector(self._config["Det"]), "Det"), "Det")

    def _lean(self, component, section: str):
        """``component`` with its ONNX Runtime session rebuilt without the memory pattern.

        rapidocr already turns the CPU arena off; without the memory pattern
        too, activations are freed as the graph runs instead of planned as one
        block for the largest input seen, and without weight prepacking the
        session keeps one copy of the weights instead of two (docs/scorers.md
        has the figures).
        """
        import onnxruntime as ort

        holder = component.infer if hasattr(component, "infer") else component.session
        options = holder.session.get_session_options()
        options.enable_mem_pattern = False
        options.enable_cpu_mem_arena = False
        options.add_session_config_entry("session.disable_prepacking", "1")
        path = self._config[section]["model_path"]
        holder.session = None  # the old session goes before the new one loads
        holder.session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
        return component

    def _session(self, build, section: str):
        from pathlib import Path

        path = Path(self._config[section]["model_path"])
        try:
            return build()
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf, rapidocr FileNotFoundError
            what = "missing" if not path.is_file() else "corrupt or unreadable"
            raise InvalidModelError(f"the PP-OCRv4 model {path} is {what} ({type(exc).__name__})", f"reinstall it: {REINSTALL_HINT}") from None

    @property
    def recogniser(self):
        with self._lock:
            if self._recogniser is None:
                from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

                self._recogniser = self._session(lambda: self._lean(TextRecognizer(self._config["Rec"]), "Rec"), "Rec")
            return self._recogniser

    def detect(
        self, image: np.ndarray, min_side: int = 1024, max_side: int = 1280, tile: int = DEFAULT_TILE
    ) -> tuple[list[Box], list[np.ndarray]]:
        """Text boxes in original pixels and their quadrilaterals on the original, for a uint8 RGB image.

        The proxy is detected in ``tile``-pixel tiles overlapping by
        :data:`TILE_OVERLAP`, so the network's activations stay bounded by
        the tile, not the photo (docs/scorers.md has the memory figures).
        """
        import cv2

        height, width = image.shape[:2]
        scale = proxy_scale(width, height, min_side, max_side)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if min(size) < 8:
            return [], []  # a sliver (1×10000): no line of text fits in it
        proxy = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        factors = np.array([size[0] / width, size[1] / height], dtype=np.float32)
        bgr = np.ascontiguousarray(proxy[:, :, ::-1])
        found: list[np.ndarray] = []
        for y0 in tile_origins(size[1], tile, TILE_OVERLAP):
            for x0 in tile_origins(size[0], tile, TILE_OVERLAP):
                piece = np.ascontiguousarray(bgr[y0 : y0 + tile, x0 : x0 + tile])
                detector = self._detector_class.__new__(self._detector_class)
                detector.__dict__.update(self.detector.__dict__)  # the limit is per call: no shared state mutated
                detector.limit_type, detector.limit_side_len = "max", max(piece.shape[:2])
                quads, _ = detector(piece)
                if quads is not None and len(quads):
                    found.extend(np.asarray(quads, dtype=np.float32).reshape(-1, 4, 2) + np.float32([x0, y0]))
        boxes: list[Box] = []
        kept: list[np.ndarray] = []
        for quad in found:
            quad = quad / factors
            box = quad_to_box(quad, width, height)
            if box is not None:
                boxes.append(box)
                kept.append(quad)
        keep = drop_contained(boxes)
        return [boxes[i] for i in keep], [kept[i] for i in keep]

    def recognise(self, image: np.ndarray, quads: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """The text in each quadrilateral (original pixels) of a uint8 RGB image."""
        if not quads:
            return []
        from rapidocr_onnxruntime.main import RapidOCR

        bgr = np.ascontiguousarray(image[:, :, ::-1])
        crops = RapidOCR.get_crop_img_list(None, bgr, [np.asarray(q, dtype=np.float32) for q in quads])
        results, _ = self.recogniser(crops)
        return [(str(text), float(score)) for text, score, *_ in results]

    def read_box(self, image: np.ndarray, box: Box) -> str:
        """All text read in ``box`` of ``image``, lines top to bottom joined by spaces."""
        x0, y0, x1, y1 = box
        crop = np.ascontiguousarray(image[y0:y1, x0:x1])
        if min(crop.shape[:2]) < 4:
            return ""
        # Small crops are read at least 64 px high, as the detector sees small text poorly.
        factor = max(1.0, 64.0 / crop.shape[0])
        _, quads = self.detect(crop, min_side=int(min(crop.shape[:2]) * factor) + 1, max_side=int(max(crop.shape[:2]) * factor) + 1)
        if not quads:
            quads = [np.array([[0, 0], [crop.shape[1] - 1, 0], [crop.shape[1] - 1, crop.shape[0] - 1], [0, crop.shape[0] - 1]], dtype=np.float32)]
        order = sorted(range(len(quads)), key=lambda i: (float(quads[i][:, 1].min()), float(quads[i][:, 0].min())))
        texts = self.recognise(crop, [quads[i] for i in order])
        return " ".join(text for text, _ in texts if text).strip()


_engines: dict[int, OcrEngine] = {}
_engines_lock = threading.Lock()


def shared_engine(threads: int = -1) -> OcrEngine:
    """One engine per process and thread setting (the models load once)."""
    with _engines_lock:
        if threads not in _engines:
            _engines[threads] = OcrEngine(threads=threads)
        return _engines[threads]


class TextScorer(Scorer):
    """Relevance from detected text boxes; prompt-aware (see the module docstring)."""

    name = "text"
    prompt_guided = True
    preferred_sigma_map = ("linear", 0.0)

    def __init__(
        self,
        *,
        other_relevance: float = 0.5,
        margin: float = 8.0,
        ramp: float = 24.0,
        min_side: int = 1024,
        max_side: int = 1280,
        fallback: float = 1.0,
        tile: int = DEFAULT_TILE,
        threads: int = -1,
    ):
        for label, value in (("other_relevance", other_relevance), ("fallback", fallback)):
            if not 0 <= value <= 1:
                raise UsageError(f"text scorer: {label} must be between 0 and 1, got {value}")
        if margin < 0 or ramp < 0:
            raise UsageError("text scorer: margin and ramp must be >= 0")
        if not 0 <= int(min_side) <= int(max_side) or int(max_side) < 32:
            raise UsageError(f"text scorer: need 32 <= min_side <= max_side, got {min_side}, {max_side}")
        self.other_relevance = float(other_relevance)
        self.margin = float(margin)
        self.ramp = float(ramp)
        self.min_side = int(min_side)
        self.max_side = int(max_side)
        self.fallback = float(fallback)
        if int(tile) < 2 * TILE_OVERLAP:
            raise UsageError(f"text scorer: tile must be at least {2 * TILE_OVERLAP}, got {tile}")
        self.tile = int(tile)
        self.engine = shared_engine(int(threads))

    def box_values(self, image: np.ndarray, prompt: str, quads: Sequence[np.ndarray]) -> list[float]:
        """Relevance of each detected box; recognises only when the prompt does not settle it."""
        if asks_about_text(prompt) or self.other_relevance >= 1:
            return [1.0] * len(quads)
        texts = self.engine.recognise(image, quads)
        return [1.0 if text_matches_prompt(text, prompt) else self.other_relevance for text, _ in texts]

    def score(self, image: np.ndarray, prompt: str, *, regions: Sequence[Box] = ()) -> ScoreMap:
        height, width = image.shape[:2]
        grid = BlockGrid(1, (width, height), (width, height))
        boxes, quads = self.engine.detect(np.ascontiguousarray(image), self.min_side, self.max_side, self.tile)
        if not boxes:
            return ScoreMap(np.full((height, width), self.fallback), grid, prompt_used=prompt, nothing_relevant=True)
        values = self.box_values(image, prompt, quads)
        relevance = box_relevance(width, height, boxes, values, self.margin, self.ramp)
        return ScoreMap(relevance.astype(np.float64), grid, prompt_used=prompt)


# -- the ocr evaluator (bench) ---------------------------------------------------------------

DEFAULT_TOLERANCE = 0.2
"""Edit operations allowed per character of the normalised answer (0.2: one per five characters)."""
READ_PADDING = 4
"""Pixels added around each answer region before it is read, so a tight box does not cut letters."""


def normalise_text(text: str) -> str:
    """Case, spaces and punctuation ignored: the lower-case letters and digits of ``text``, joined."""
    return "".join(ch for ch in str(text).casefold() if ch.isalnum())


def substring_distance(needle: str, haystack: str) -> int:
    """The fewest edits (Levenshtein) turning ``needle`` into some substring of ``haystack``.

    Sellers' variant of the edit-distance table: the match may start and end
    anywhere in ``haystack`` for free, so neighbouring words read with the
    answer cost nothing.
    """
    previous = [0] * (len(haystack) + 1)
    for i, char in enumerate(needle, start=1):
        current = [i] + [0] * len(haystack)
        for j, other in enumerate(haystack, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
        previous = current
    return min(previous)


def ocr_match(read: str, answer: str, tolerance: float = DEFAULT_TOLERANCE) -> tuple[bool, int]:
    """(correct, distance): correct when the normalised answer is found in the normalised read text
    with at most ``floor(tolerance · len(answer))`` edits."""
    wanted, got = normalise_text(answer), normalise_text(read)
    if not wanted:
        return (not got, 0)
    distance = substring_distance(wanted, got)
    return (distance <= int(tolerance * len(wanted)), distance)


def _evaluator_classes():
    from pgpcodec.bench.evaluators import Evaluator, EvaluatorError

    class OcrEvaluator(Evaluator):
        """Reads the text in the answer's regions of the decoded image (PP-OCRv4) and matches the answer.

        Rows must be text rows: ``answer_in_image: true`` and an ``answer``.
        """

        name = "ocr"
        metric = "OCR accuracy"

        def __init__(self, *, tolerance: float = DEFAULT_TOLERANCE, threads: int = -1):
            if not 0 <= tolerance < 1:
                raise UsageError(f"ocr evaluator: tolerance must be in [0, 1), got {tolerance}")
            self.tolerance = float(tolerance)
            self.engine = shared_engine(int(threads))

        def settings(self) -> dict:
            return {"name": self.name, "tolerance": self.tolerance, "models": "PP-OCRv4 (rapidocr-onnxruntime 1.4.4)"}

        def check(self, row) -> None:
            if row.answer is None or not row.answer_in_image:
                raise EvaluatorError(
                    "is not a text row, which the ocr evaluator needs",
                    "give it an 'answer' and \"answer_in_image\": true, or bench only text rows (a dataset of text rows)",
                )

        def read(self, image: np.ndarray, regions) -> str:
            height, width = image.shape[:2]
            if not regions:
                boxes, quads = self.engine.detect(image)
                order = sorted(range(len(boxes)), key=lambda i: (boxes[i][1], boxes[i][0]))
                return " ".join(text for text, _ in self.engine.recognise(image, [quads[i] for i in order]))
            texts = []
            for x0, y0, x1, y1 in regions:
                box = (max(0, x0 - READ_PADDING), max(0, y0 - READ_PADDING), min(width, x1 + READ_PADDING), min(height, y1 + READ_PADDING))
                texts.append(self.engine.read_box(image, box))
            return " ".join(texts)

        def evaluate(self, sample) -> dict:
            self.check(sample.row)
            read = self.read(np.ascontiguousarray(sample.decoded), sample.row.regions)
            correct, distance = ocr_match(read, sample.row.answer, self.tolerance)
            return {"score": float(correct), "read": read, "edit_distance": distance}

    return OcrEvaluator


def make_ocr_evaluator(**options):
    return _evaluator_classes()(**options)
