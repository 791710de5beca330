"""docs/plugins.md's tutorial works as written.

The files the tutorial shows (fenced blocks with ``title="path"``) are
extracted, installed with pip into a private target folder, and then used
the way the tutorial says: listed by ``pgpcodec plugins``, used by
``pgpcodec encode --codec png8``, and tested with the contract suite.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pgpcodec.testing.samples import sample_file

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
FILE_BLOCK = re.compile(r'^```\w+ title="(?P<path>[^"]+)"\n(?P<body>.*?)^```$', re.MULTILINE | re.DOTALL)


def tutorial_files() -> dict[str, str]:
    return {m["path"]: m["body"] for m in FILE_BLOCK.finditer(DOC.read_text(encoding="utf-8"))}


def test_the_tutorial_shows_a_complete_small_plugin():
    files = tutorial_files()
    assert set(files) == {"pgpcodec_png8.py", "pyproject.toml", "tests/test_png8.py"}
    code_lines = [line for line in files["pgpcodec_png8.py"].splitlines() if line.strip()]
    assert len(code_lines) <= 36, f"the '30 lines' codec has grown to {len(code_lines)} lines"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    """The tutorial's project, pip-installed into a folder put on PYTHONPATH; returns the environment."""
    root = tmp_path_factory.mktemp("tutorial")
    project = root / "pgpcodec-png8"
    for relative, body in tutorial_files().items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(body, encoding="utf-8")
    site = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(project)],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGPCODEC_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {"env": env, "project": str(project)}


def pgpcodec(installed, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pgpcodec", *map(str, args)], env=installed["env"], capture_output=True, text=True
    )


def test_the_installed_plugin_is_listed(installed):
    listed = {p["name"]: p for p in json.loads(pgpcodec(installed, "plugins", "--json").stdout)}
    assert listed["png8"]["distribution"] == "pgpcodec-png8"
    assert listed["png8"]["provides"] == {"codec": ["png8"]} and not listed["png8"]["broken"]


def test_pgpcodec_encode_uses_it(installed, tmp_path):
    from PIL import Image

    source = sample_file(tmp_path / "photo.png", 120, 80)
    out = tmp_path / "photo-32.png"
    result = pgpcodec(installed, "encode", source, "--scorer", "uniform", "--prompt-processor", "none", "--codec", "png8", "-q", "32", "-o", out)
    assert result.returncode == 0, result.stderr
    with Image.open(out) as img:
        assert img.format == "PNG" and img.mode == "P" and img.size == (120, 80)
        assert len(img.getcolors()) <= 32
    too_many = pgpcodec(installed, "encode", source, "--scorer", "uniform", "--prompt-processor", "none", "--codec", "png8", "-q", "300", "-o", tmp_path / "x.png")
    assert too_many.returncode == 2 and re.search(r"colours 300(\.0)? is out of range", too_many.stderr)


def test_the_tutorial_test_passes(installed):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_png8.py"],
        cwd=installed["project"],
        env=installed["env"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout
