"""Helpers shared by the bench tests (a uniquely named module, not conftest, so imports are unambiguous)."""

import json

from pgpcodec.testing.plugin import invoke_cli


def run_cli(capsys, *args):
    """``pgpcodec bench ARGS`` in process: (exit code, stdout, stderr)."""
    return invoke_cli(["bench", *args], capsys)


def write_manifest(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def dev_photo(name, width=96):
    """A dev-set photo (pgpcodec/data/dev/images), shrunk to ``width`` px wide so tests stay quick, as PNG bytes."""
    import io
    from pathlib import Path

    from PIL import Image

    import pgpcodec

    with Image.open(Path(pgpcodec.__file__).parent / "data" / "dev" / "images" / name) as img:
        img = img.convert("RGB")
        img = img.resize((width, max(1, round(img.height * width / img.width))))
        buffer = io.BytesIO()
        img.save(buffer, format="PNG")
        return buffer.getvalue()


def write_tsv(path, rows, columns):
    """A VLMEvalKit-style TSV (tab-separated, quoted as pandas' to_csv quotes); ``rows`` are dicts."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return path
