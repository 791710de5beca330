"""pytest plugin with fixtures for testing pgpcodec plugins.

Enable it in the ``conftest.py`` at the top of your tests::

    pytest_plugins = ["pgpcodec.testing.plugin"]

It is opt-in (no ``pytest11`` entry point), so installing pgpcodec never
adds fixtures to unrelated projects' test runs. Every fixture name starts
with ``pgpcodec_``. The contract classes in
:mod:`pgpcodec.testing.scorer_contract` and
:mod:`pgpcodec.testing.codec_contract` do not need this plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from .samples import SAMPLE_MODES, sample_file, sample_image

SAMPLE_SIZES = ((1, 1), (3, 2), (64, 48), (48, 64), (333, 17))
"""(width, height) of the sample files: single pixel, odd, landscape, portrait, strip."""

_FORMAT_FOR_MODE = {"CMYK": ".tiff"}
"""Modes PNG cannot hold."""

_ISOLATED_VARIABLES = ("PGPCODEC_LOAD_PLUGINS", "PGPCODEC_MAX_PIXELS", "PGPCODEC_DEBUG")


class CliResult(NamedTuple):
    """What one CLI run gave; unpacks as ``code, out, err``."""

    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def pgpcodec_isolated(monkeypatch, tmp_path) -> Path:
    """No user settings leak in: pgpcodec's environment variables unset, cache/data/config dirs in tmp.

    Caches and downloaded models go through platformdirs, which follows the
    XDG variables on Linux, so they land under the returned folder. The
    process-wide plugin registry is reloaded before and after the test.
    """
    from ..plugins import reset_registry

    for name in _ISOLATED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "pgpcodec-home"
    for variable, sub in (("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config")):
        (home / sub).mkdir(parents=True)
        monkeypatch.setenv(variable, str(home / sub))
    reset_registry()
    yield home
    reset_registry()


@pytest.fixture
def pgpcodec_registry(pgpcodec_isolated):
    """A freshly loaded :class:`~pgpcodec.plugins.PluginRegistry` of the installed plugins."""
    from ..plugins import get_registry

    return get_registry()


@pytest.fixture
def pgpcodec_image() -> Callable[..., np.ndarray]:
    """``pgpcodec_image(width=64, height=48, seed=0)``: a deterministic photo-like RGB array."""

    def make(width: int = 64, height: int = 48, *, seed: int = 0) -> np.ndarray:
        return sample_image(width, height, seed=seed)

    return make


@pytest.fixture(params=[(mode, size) for mode in SAMPLE_MODES for size in SAMPLE_SIZES], ids=lambda p: f"{p[0]}-{p[1][0]}x{p[1][1]}")
def pgpcodec_image_file(request, tmp_path) -> Path:
    """A sample image file, once per Pillow mode × size (RGB, RGBA, L, LA, P, 1, I;16, CMYK)."""
    mode, (width, height) = request.param
    suffix = _FORMAT_FOR_MODE.get(mode, ".png")
    return sample_file(tmp_path / f"sample-{mode.replace(';', '')}{suffix}", width, height, mode=mode)


def invoke_cli(args, capsys) -> CliResult:
    """Run ``pgpcodec ARGS`` in process: its exit code and what ``capsys`` captured since it was last read."""
    from ..cli import main

    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return CliResult(code, out, err)


@pytest.fixture
def pgpcodec_cli(capsys, pgpcodec_isolated) -> Callable[..., CliResult]:
    """``pgpcodec_cli("encode", "a.png", "--codec", "mine")``: run the CLI in process.

    Returns exit code, stdout and stderr; the process-wide registry is
    reloaded first, so plugins installed during the test are seen.
    """
    from ..plugins import reset_registry

    def run(*args: str) -> CliResult:
        reset_registry()
        capsys.readouterr()
        return invoke_cli(args, capsys)

    return run
