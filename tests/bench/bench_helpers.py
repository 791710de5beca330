"""Helpers shared by the bench tests (a uniquely named module, not conftest, so imports are unambiguous)."""

import json

from pgpcodec.testing.plugin import invoke_cli


def run_cli(capsys, *args):
    """``pgpcodec bench ARGS`` in process: (exit code, stdout, stderr)."""
    return invoke_cli(["bench", *args], capsys)


def write_manifest(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path
