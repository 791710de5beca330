"""Benchmark manifests: one JSON object per line, one row per question.

Each row names an image (relative to the manifest, or absolute), the prompt
a VLM receives, and optionally the correct ``answer``, the ``regions``
``[[x0, y0, x1, y1], ...]`` (pixels, end exclusive) needed to answer, and a
``kind`` (``yesno``, ``mcq``, ``short``), and ``answer_in_image: true`` for a
text row (the answer is printed in the photo; the ``ocr`` evaluator reads
it). ``--dataset dev`` is the built-in
set shipped inside the package (``pgpcodec/data/dev``). A ``.tsv`` file is
read as a VLMEvalKit dataset (:mod:`pgpcodec.bench.vlmeval`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..interfaces import Box

DEV_DATASET = "dev"
KINDS = ("yesno", "mcq", "short")


@dataclass(frozen=True)
class Row:
    """One question of a manifest; ``line`` is its 1-based line number, used in errors."""

    id: str
    image: Path
    prompt: str
    answer: str | None = None
    regions: tuple[Box, ...] = ()
    kind: str | None = None
    answer_in_image: bool = False
    """A text row: the answer is text printed in the photo (what the ``ocr`` evaluator reads)."""
    line: int = 0
    extra: dict = field(default_factory=dict, compare=False)

    def where(self) -> str:
        """How errors name the row: its line, and its id (a TSV's index)."""
        return f"row {self.line} (index {self.id})" if "index" in self.extra else f"row {self.line} ({self.id})"

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "image": str(self.image),
            "prompt": self.prompt,
            "answer": self.answer,
            "regions": [list(box) for box in self.regions],
            "kind": self.kind,
            "answer_in_image": self.answer_in_image,
        }


@dataclass(frozen=True)
class RowFailure:
    """A row that could not be run (bad input), named by its id and line; the other rows go on."""

    row: str
    line: int
    message: str
    hint: str | None = None
    variant: str | None = None
    codec: str | None = None
    quality: float | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def text(self) -> str:
        where = ", ".join(f"{k} {v}" for k, v in (("variant", self.variant), ("codec", self.codec), ("quality", self.quality)) if v is not None)
        return self.message + (f" [{where}]" if where else "") + (f" ({self.hint})" if self.hint else "")


@dataclass(frozen=True)
class Dataset:
    name: str
    manifest: Path
    rows: tuple[Row, ...]
    failures: tuple[RowFailure, ...] = ()
    """Rows rejected while reading (a TSV's bad rows); they are listed at the end of the run."""
    benchmark: str | None = None
    """How the headline metric is computed (``mme``, ``mcq``, ``yesno``; see :mod:`pgpcodec.bench.vqa_metrics`)."""

    def images(self) -> list:
        return sorted({row.image for row in self.rows}, key=str)


def read_photo(image) -> bytes:
    """A row's image file bytes: from its path, or from the TSV row that stores it (read only now)."""
    if hasattr(image, "read_bytes") and not isinstance(image, Path):
        return image.read_bytes()
    try:
        return Path(image).read_bytes()
    except OSError as exc:
        raise InputError(f"{image}: cannot read the image ({exc.strerror})") from None


def decode_photo(data: bytes, image) -> np.ndarray:
    """(H, W, 3) uint8 RGB of :func:`read_photo`'s bytes; errors name ``image``."""
    from ..imaging import load_image

    try:
        return load_image(data)[0]
    except InputError as exc:
        # the row's index already names a TSV image; a file is named by its path
        label = "the image" if hasattr(image, "index") else str(image)
        raise InputError(f"{label} does not decode: {exc.problem}", exc.hint) from None


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks (a dataset may be gigabytes)."""
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dev_manifest() -> Path:
    """The built-in dev manifest inside the installed package."""
    from importlib.resources import files

    return Path(str(files("pgpcodec") / "data" / "dev" / "dev.jsonl"))


def _row_error(manifest: Path, line: int, message: str, hint: str | None = None) -> InputError:
    return InputError(f"{manifest}, row {line}: {message}", hint)


def _parse_regions(value, manifest: Path, line: int) -> tuple[Box, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _row_error(manifest, line, f"'regions' must be a list of [x0, y0, x1, y1] boxes, got {value!r}")
    boxes = []
    for box in value:
        if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box)):
            raise _row_error(manifest, line, f"region {box!r} is not four numbers [x0, y0, x1, y1]")
        boxes.append(tuple(int(round(v)) for v in box))
    return tuple(boxes)


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    from ..imaging import _register_heif

    _register_heif()
    try:
        with Image.open(path) as img:
            width, height = img.size
            orientation = img.getexif().get(0x0112, 1)
            # EXIF rotations by 90° swap the axes the way load_image will.
            return (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from None


def parse_row(record, manifest: Path, line: int) -> Row:
    """Validate one decoded JSON line; errors name the manifest row."""
    if not isinstance(record, dict):
        raise _row_error(manifest, line, "is not a JSON object")
    image = record.get("image")
    if not isinstance(image, str) or not image.strip():
        raise _row_error(manifest, line, "has no 'image' path")
    prompt = record.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _row_error(manifest, line, "has an empty prompt", "every row needs the 'prompt' the VLM receives")
    answer = record.get("answer")
    if answer is not None and not isinstance(answer, (str, int, float)):
        raise _row_error(manifest, line, f"'answer' must be text, got {answer!r}")
    kind = record.get("kind")
    if kind is not None and kind not in KINDS:
        raise _row_error(manifest, line, f"unknown kind {kind!r}", f"use one of: {', '.join(KINDS)}")
    answer_in_image = record.get("answer_in_image", False)
    if not isinstance(answer_in_image, bool):
        raise _row_error(manifest, line, f"'answer_in_image' must be true or false, got {answer_in_image!r}")
    if answer_in_image and answer is None:
        raise _row_error(manifest, line, "has 'answer_in_image' but no 'answer'", "a text row needs the text as its 'answer'")
    path = Path(image).expanduser()
    if not path.is_absolute():
        path = manifest.parent / path
    if not path.is_file():
        raise _row_error(manifest, line, f"image {image!r} not found (looked for {path})", "image paths are relative to the manifest, or absolute")
    regions = _parse_regions(record.get("regions"), manifest, line)
    if regions:
        width, height = _image_size(path)
        for x0, y0, x1, y1 in regions:
            if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
                raise _row_error(
                    manifest,
                    line,
                    f"region [{x0}, {y0}, {x1}, {y1}] is empty or outside the {width}x{height} image {image!r}",
                    "boxes are [x0, y0, x1, y1] in pixels with 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height",
                )
    known = {"id", "image", "prompt", "answer", "regions", "kind", "answer_in_image"}
    row_id = str(record.get("id") or f"{line}:{Path(image).stem}")
    return Row(
        id=row_id,
        image=path.resolve(),
        prompt=prompt,
        answer=None if answer is None else str(answer),
        regions=regions,
        kind=kind,
        answer_in_image=answer_in_image,
        line=line,
        extra={k: v for k, v in record.items() if k not in known},
    )


def load_dataset(spec: str | Path) -> Dataset:
    """``dev``, a JSONL manifest or a VLMEvalKit TSV; every row is checked before anything runs.

    A JSONL row that is wrong stops the run; a TSV row that is wrong becomes
    a :class:`RowFailure` and the other rows go on.
    """
    if str(spec) == DEV_DATASET:
        manifest, name = dev_manifest(), DEV_DATASET
    else:
        manifest, name = Path(spec).expanduser(), Path(spec).stem
        if not manifest.is_file():
            raise InputError(f"{spec}: no such manifest", "give dev, a .jsonl manifest or a VLMEvalKit .tsv", parameter="dataset")
    manifest = manifest.resolve()
    if manifest.suffix.lower() == ".tsv":
        from .vlmeval import benchmark_kind, read_tsv

        tsv_rows, failures = read_tsv(manifest)
        if not tsv_rows:
            raise InputError(f"{manifest}: no row can run; the first problem: {failures[0].message}", failures[0].hint)
        return Dataset(name, manifest, tuple(tsv_rows), tuple(failures), benchmark_kind(name, {r.kind for r in tsv_rows}))
    rows: list[Row] = []
    with manifest.open(encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise _row_error(manifest, line, f"is not valid JSON ({exc.msg})") from None
            rows.append(parse_row(record, manifest, line))
    if not rows:
        raise InputError(f"{manifest}: the manifest has no rows")
    seen: dict[str, int] = {}
    for row in rows:
        if row.id in seen:
            raise _row_error(manifest, row.line, f"id {row.id!r} repeats row {seen[row.id]}", "ids must be unique")
        seen[row.id] = row.line
    return Dataset(name, manifest, tuple(rows))
