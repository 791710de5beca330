"""Each built-in plugin's packages are an extra: the base install stays light, and a part whose
extra is missing fails with one line naming it. Missing packages are simulated the way Python
marks a module that must not import: ``sys.modules[name] = None``."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from pgpcodec.errors import MissingResourceError
from pgpcodec.extras import installed, require
from pgpcodec.plugins import get_registry
from pgpcodec.testing.codec_contract import sample_image

REPO = Path(__file__).resolve().parents[1]
HEAVY = {"onnxruntime", "tokenizers", "nltk", "ffmpeg-python", "imageio-ffmpeg", "matplotlib", "bjontegaard", "scipy", "torch"}


@cache
def _project() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    """Distribution names of requirement strings (``"nltk>=3.9"`` -> ``nltk``)."""
    import re

    return {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def _extra(name: str) -> set[str]:
    """Every distribution an extra brings, with the pgpcodec extras it names."""
    names = set()
    for requirement in _project()["optional-dependencies"][name]:
        if requirement.startswith("pgpcodec["):
            for inner in requirement[len("pgpcodec[") : requirement.index("]")].split(","):
                names |= _extra(inner)
        else:
            names |= _names([requirement])
    return names


def _missing(monkeypatch, *modules: str) -> None:
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def test_the_base_install_has_none_of_the_heavy_packages():
    assert not _names(_project()["dependencies"]) & HEAVY, _project()["dependencies"]


def test_all_installs_every_extra():
    extras = set(_project()["optional-dependencies"]) - {"all"}
    (everything,) = _project()["optional-dependencies"]["all"]
    assert set(everything[len("pgpcodec[") : -1].split(",")) == extras
    assert HEAVY <= _extra("all")


@pytest.mark.parametrize(
    "packages, extra",
    [
        ("pgpcodec_scorers.tinyclip.scorer:RUNTIME", "tinyclip"),
        ("pgpcodec.bench.bdrate:PACKAGES", "bench"),
    ],
)
def test_the_packages_a_part_checks_for_are_in_the_extra_it_names(packages, extra):
    import importlib

    module, _, attribute = packages.partition(":")
    assert set(getattr(importlib.import_module(module), attribute).values()) <= _extra(extra)


def test_installed_does_not_import_and_honours_a_blocked_module(monkeypatch):
    monkeypatch.delitem(sys.modules, "json.tool", raising=False)
    assert installed("json.tool") and "json.tool" not in sys.modules
    assert not installed("no_such_module_pgpcodec")
    _missing(monkeypatch, "json")
    assert not installed("json")


def test_require_names_every_missing_package_and_the_extra(monkeypatch):
    _missing(monkeypatch, "json", "csv")
    with pytest.raises(MissingResourceError) as caught:
        require({"json": "json-lib", "csv": "csv-lib", "os": "os-lib"}, "things", "the thing", distribution="acme")
    assert caught.value.message == "the thing needs json-lib and csv-lib, which are not installed"
    assert caught.value.hint == "pip install 'acme[things]'"
    require({"os": "os-lib"}, "things", "the thing")  # present: nothing raised


@pytest.mark.parametrize(
    "kind, name, module, package, extra",
    [
        # Checked before the model is looked up: the model may be installed, the runtime is what is missing.
        ("scorer", "tinyclip57", "onnxruntime", "onnxruntime", "tinyclip"),
        ("scorer", "tinyclip57", "tokenizers", "tokenizers", "tinyclip"),
        ("prompt_processor", "nltk", "nltk", "nltk", "nltk"),
        ("codec", "vvenc", "ffmpeg", "ffmpeg-python", "vvenc"),
    ],
)
def test_a_plugin_without_its_extra_names_the_package_and_the_extra(monkeypatch, kind, name, module, package, extra):
    _missing(monkeypatch, module)
    with pytest.raises(MissingResourceError) as caught:
        get_registry().create(kind, name)
    assert f"needs {package}, which is not installed" in caught.value.message
    assert caught.value.hint == f"pip install 'pgpcodec[{extra}]'"


def test_setup_nltk_without_nltk_names_the_extra(monkeypatch, run_cli):
    _missing(monkeypatch, "nltk")
    code, _, err = run_cli("setup-nltk")
    assert code == 1
    assert err.strip().splitlines() == [
        "pgpcodec: error: the nltk prompt processor needs nltk, which is not installed (pip install 'pgpcodec[nltk]')"]


def test_vvenc_without_its_bundled_ffmpeg_names_the_extra(monkeypatch):
    from pgpcodec_codecs import vvenc

    monkeypatch.delenv(vvenc.FFMPEG_ENV, raising=False)
    _missing(monkeypatch, "imageio_ffmpeg")
    with pytest.raises(MissingResourceError) as caught:
        vvenc.VvencCodec().encode(sample_image(16, 16))
    assert "imageio-ffmpeg is not installed" in caught.value.message
    assert caught.value.hint.startswith("pip install 'pgpcodec[vvenc]'")


def test_bd_rates_without_bjontegaard_name_the_extra(monkeypatch):
    from pgpcodec.bench.bdrate import bd_rate

    _missing(monkeypatch, "bjontegaard")
    with pytest.raises(MissingResourceError) as caught:
        bd_rate([(0.5, 30.0), (1.0, 35.0)], [(0.4, 30.0), (0.9, 35.0)])
    assert caught.value.hint == "pip install 'pgpcodec[bench]'"


def test_plots_without_matplotlib_name_the_extra(monkeypatch, tmp_path):
    from pgpcodec.bench.plots import plot_codec

    _missing(monkeypatch, "matplotlib")
    with pytest.raises(MissingResourceError) as caught:
        plot_codec("jpeg", {}, ["plain"], "ROI-PSNR", tmp_path / "jpeg.png")
    assert caught.value.hint == "pip install 'pgpcodec[plots]'"
    assert not (tmp_path / "jpeg.png").exists()


def test_explain_without_matplotlib_names_the_extra(monkeypatch, photo_path, tmp_path, run_cli):
    _missing(monkeypatch, "matplotlib")
    code, _, err = run_cli("encode", photo_path, "--scorer", "regions", "--regions", "10,10,50,50", "--codec", "jpeg",
                           "-o", tmp_path / "out.jpg", "--explain", tmp_path / "explain.png")
    assert code == 1, err
    assert "the explain picture needs matplotlib, which is not installed (pip install 'pgpcodec[plots]')" in err
    assert len(err.strip().splitlines()) == 1, err


def test_bench_without_its_extra_stops_before_measuring_anything(monkeypatch, tmp_path, run_cli):
    _missing(monkeypatch, "bjontegaard")
    code, _, err = run_cli("bench", "--codecs", "jpeg", "--out", tmp_path / "out")
    assert code == 1
    assert err.strip().splitlines() == [
        "pgpcodec: error: pgpcodec bench needs bjontegaard, which is not installed (pip install 'pgpcodec[bench]')"]
    assert not (tmp_path / "out" / "rows.jsonl").exists()


def test_the_default_encode_without_the_tinyclip_extra_is_one_line_naming_it(photo_path, tmp_path):
    # A fresh process: the CLI's default pipeline (tinyclip57) must not come from a cache of this one.
    blocked = "import sys; sys.modules['onnxruntime'] = None; from pgpcodec.cli import main; main(sys.argv[1:])"
    result = subprocess.run(
        [sys.executable, "-c", blocked, "encode", str(photo_path), "--prompt", "What is it?", "-o", str(tmp_path / "out.jpg")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'pgpcodec[tinyclip]'" in lines[0], result.stderr
    assert not (tmp_path / "out.jpg").exists()


OPTIONAL_MODULES = "onnxruntime tokenizers nltk ffmpeg imageio_ffmpeg matplotlib bjontegaard scipy torch compressai rapidocr_onnxruntime"
"""Import names of every package outside the base install."""


def test_the_base_install_encodes_and_lists_plugins_without_any_extra(photo_path, tmp_path):
    blocked = (f"import sys; sys.modules.update(dict.fromkeys({OPTIONAL_MODULES.split()!r})); "
               "from pgpcodec.cli import main; main(sys.argv[1:])")

    def run(*args):
        return subprocess.run([sys.executable, "-c", blocked, *map(str, args)], capture_output=True, text=True, timeout=120)

    for codec in ("jpeg", "webp", "avif", "heic"):
        out = tmp_path / f"out.{codec}"
        result = run("encode", photo_path, "--scorer", "regions", "--regions", "100,60,180,140", "--codec", codec, "-o", out)
        assert result.returncode == 0 and out.stat().st_size > 0, result.stderr
    listed = run("plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
