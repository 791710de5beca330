"""VLMEvalKit's TSV datasets (MME, MMBench, SEEDBench, …) as bench datasets.

The format, as VLMEvalKit reads and writes it (``vlmeval/dataset/image_base.py``,
``image_mcq.py``, ``image_yorn.py``, ``vlmeval/smp/file.py`` of
open-compass/VLMEvalKit): a tab-separated file with a header line, fields
quoted with ``"`` when needed (``""`` inside a quoted field). The columns
used here:

``index``
    the question's id (unique).
``image``
    the image as base64 of its file bytes; a value of 64 characters or fewer
    is instead the ``index`` of another row whose image it shares (MME stores
    each image once for its two questions).
``image_path``
    a path to the image file (relative to the TSV's folder, or absolute),
    used when the file has no ``image`` column; for MME it also names the
    image whose two questions make up acc+.
``question``, ``hint`` (optional), ``A``, ``B``, ``C``, … (the options present
and non-empty), ``answer``, ``category``, ``l2-category`` (optional).

Prompts are built as VLMEvalKit builds them: for a row with options
``Hint: …\\nQuestion: …\\nOptions:\\nA. …\\n…Please select the correct answer
from the options above. \\n`` (``ImageMCQDataset.build_prompt``); otherwise
the question as it is (``ImageBaseDataset.build_prompt``, MME).

Reading never holds the file in memory: one pass records each row's byte
offset and keeps its small fields; a row's image is read and decoded from
its offset when the bench reaches it (:class:`TsvImage`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

REQUIRED_COLUMNS = ("index", "question")
IMAGE_REFERENCE_MAX = 64
"""An ``image`` value this short is the index of the row holding the image (VLMEvalKit's rule)."""
MCQ_INSTRUCTION = "Please select the correct answer from the options above. \n"

csv.field_size_limit(2**31 - 1)  # a base64 image field is megabytes long


@dataclass(frozen=True, order=True)
class TsvImage:
    """The image stored in one row of a TSV: the row's byte span and the image column's position."""

    tsv: Path
    offset: int
    length: int
    column: int
    index: str

    def __str__(self) -> str:
        return f"{self.tsv}#index={self.index}"

    @property
    def stem(self) -> str:
        return f"index-{self.index}"

    def read_bytes(self) -> bytes:
        """The image file's bytes, from the base64 field; InputError when it is not base64."""
        with self.tsv.open("rb") as handle:
            handle.seek(self.offset)
            record = handle.read(self.length)
        field = parse_record(record)[self.column]
        try:
            return base64.b64decode("".join(field.split()), validate=True)
        except (binascii.Error, ValueError):
            raise InputError("the image column is not valid base64", "re-download the TSV; it may be cut short") from None


def records(handle) -> Iterator[tuple[int, bytes]]:
    """(byte offset, raw bytes) of each record of a binary TSV stream.

    A record ends at a newline outside quotes: the count of ``"`` seen so far
    in it is even (a quoted ``"`` is doubled, so parity is exact).
    """
    offset = start = 0
    parts: list[bytes] = []
    quotes = 0
    for line in handle:
        if not parts:
            start = offset
        parts.append(line)
        quotes += line.count(b'"')
        offset += len(line)
        if quotes % 2 == 0:
            yield start, b"".join(parts)
            parts, quotes = [], 0
    if parts:
        yield start, b"".join(parts)


def parse_record(record: bytes) -> list[str]:
    text = record.decode("utf-8", errors="replace")
    return next(csv.reader(text.splitlines(keepends=True), delimiter="\t"), [])


def _blank(value: str | None) -> bool:
    # pandas reads empty fields (and "nan", "NaN", …) as missing; VLMEvalKit then skips them
    return value is None or value.strip() in ("", "nan", "NaN", "None", "null", "NULL", "N/A", "NA")


def build_prompt(question: str, options: dict[str, str], hint: str | None) -> str:
    """The prompt VLMEvalKit's ImageMCQDataset builds (with options) or the question as is (MME)."""
    if not options:
        return question
    prompt = f"Hint: {hint}\n" if hint is not None else ""
    prompt += f"Question: {question}\n"
    prompt += "Options:\n" + "".join(f"{key}. {item}\n" for key, item in options.items())
    return prompt + MCQ_INSTRUCTION


@dataclass(frozen=True)
class TsvRow:
    """One TSV record's fields, before it becomes a bench Row."""

    number: int
    """1-based data row number (the header is row 0)."""
    offset: int
    length: int
    fields: dict[str, str]


def benchmark_kind(name: str, kinds: set[str | None]) -> str | None:
    """How the dataset's headline metric is computed: ``mme``, ``mcq``, ``yesno`` or None.

    As VLMEvalKit decides it: by the dataset's name (``MME`` in it, the
    yes/no kind) and by its questions.
    """
    if kinds == {"yesno"}:
        return "mme" if "MME" in name and "RealWorld" not in name else "yesno"
    if kinds == {"mcq"}:
        return "mcq"
    return None


def read_tsv(path: Path):
    """Index a VLMEvalKit TSV: ``(rows, failures)`` for :func:`pgpcodec.bench.dataset.load_dataset`.

    A missing required column raises InputError before anything runs; a bad
    row (no question, an answer that is not an option, an image reference
    to an unknown index, an image file that is missing) becomes a failure
    that names its index, and the other rows go on.
    """
    from .dataset import Row, RowFailure

    with path.open("rb") as handle:
        stream = records(handle)
        try:
            _, header_bytes = next(stream)
        except StopIteration:
            raise InputError(f"{path}: the TSV is empty") from None
        header = [h.strip().lstrip("\ufeff") for h in parse_record(header_bytes)]  # a UTF-8 BOM is no part of the name
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if "image" not in header and "image_path" not in header:
            missing.append("image (or image_path)")
        if missing:
            raise InputError(
                f"{path}: the TSV has no {', '.join(repr(m) for m in missing)} column",
                f"a VLMEvalKit TSV needs index, question and image (or image_path) columns; its header is: {', '.join(header)}",
            )
        image_column = header.index("image") if "image" in header else None
        raw: list[TsvRow] = []
        for number, (offset, record) in enumerate(stream, start=1):
            if not record.strip():
                continue
            values = parse_record(record)
            fields = {}
            for i, name in enumerate(header):
                if i == image_column:
                    value = values[i] if i < len(values) else ""
                    # keep only a short reference; a real image is re-read from the offset when needed
                    fields[name] = value.strip() if len(value.strip()) <= IMAGE_REFERENCE_MAX else "<base64>"
                else:
                    fields[name] = values[i] if i < len(values) else ""
            raw.append(TsvRow(number, offset, len(record), fields))
    if not raw:
        raise InputError(f"{path}: the TSV has no rows")

    holders = {r.fields["index"].strip(): r for r in raw if image_column is not None and r.fields.get("image") == "<base64>"}
    rows, failures, seen = [], [], set()
    option_letters = [c for c in string.ascii_uppercase if c in header]
    for r in raw:
        f = r.fields
        index = f["index"].strip()

        def fail(message: str, hint: str | None = None) -> None:
            failures.append(RowFailure(index or f"row {r.number}", r.number, f"{path}, row {r.number} (index {index}): {message}", hint))

        if _blank(index):
            fail("has no index")
            continue
        if index in seen:
            fail(f"index {index} repeats an earlier row", "indices must be unique")
            continue
        seen.add(index)
        question = f.get("question", "")
        if _blank(question):
            fail("has an empty question")
            continue
        image, image_key = _image_of(path, r, image_column, holders, fail)
        if image is None:
            continue
        options = {c: f[c] for c in option_letters if not _blank(f.get(c))}
        hint = None if _blank(f.get("hint")) else f["hint"]
        answer = None if _blank(f.get("answer")) else f["answer"].strip()
        if options:
            kind = "mcq"
            if answer is not None and answer not in options:
                fail(f"answer {answer!r} is not one of the options {', '.join(options)}", "the answer must be an option letter present in the row")
                continue
        elif answer is not None and answer.lower() in ("yes", "no"):
            kind = "yesno"
        else:
            kind = "short" if answer is not None else None
        extra = {
            "index": index,
            "image_key": image_key,
            "category": None if _blank(f.get("category")) else f["category"],
            "l2-category": None if _blank(f.get("l2-category")) else f["l2-category"],
            "split": None if _blank(f.get("split")) else f["split"],
        }
        rows.append(Row(id=index, image=image, prompt=build_prompt(question, options, hint), answer=answer,
                        kind=kind, line=r.number, extra=extra))
    return rows, failures


def _image_of(path, r: TsvRow, image_column, holders, fail):
    """(the row's image, the key that groups MME's questions by image), or (None, None) after ``fail``."""
    f = r.fields
    value = f.get("image", "") if image_column is not None else ""
    image_path = None if _blank(f.get("image_path")) else f["image_path"].strip()
    if image_column is not None and value == "<base64>":
        holder = r
    elif image_column is not None and not _blank(value):
        holder = holders.get(value)
        if holder is None:
            fail(f"its image refers to index {value!r}, which holds no image", "a short image value is the index of the row holding the image")
            return None, None
    elif image_path is not None:
        file = Path(image_path).expanduser()
        if not file.is_absolute():
            file = path.parent / file
        if not file.is_file():
            fail(f"image_path {image_path!r} not found (looked for {file})", "image paths are relative to the TSV's folder, or absolute")
            return None, None
        return file.resolve(), image_path
    else:
        fail("has no image", "every row needs a base64 image, the index of a row with one, or an image_path")
        return None, None
    index = holder.fields["index"].strip()
    return TsvImage(path, holder.offset, holder.length, image_column, index), image_path or index
