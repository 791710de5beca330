"""Which way imports and names point: the core (pgpcodec/) names no plugin and imports none.

The plugin names the core falls back on live in :mod:`pgpcodec.defaults`
alone; everything else reads them from there, or asks the registry.
"""

import ast
import sys
from pathlib import Path

import pytest

import pgpcodec
from pgpcodec.plugins import get_registry

CORE = Path(pgpcodec.__file__).parent
DEFAULTS = CORE / "defaults.py"
NAMED_KINDS = ("codec", "scorer", "prompt_processor", "evaluator", "sigma_map", "fit_target")
PLUGIN_PACKAGES = ("pgpcodec_codecs", "pgpcodec_scorers", "pgpcodec_evaluators", "pgpcodec_fit_targets")
ORDINARY_WORDS = {
    # built-in plugin names that are also words the core uses for something else
    "regions",  # the regions scorer; also the library's parameter, the sidecar's form field and the manifest's key
    "none",  # the pass-through prompt processor; also the word messages print for an empty list
    "text",  # the text scorer; also the content-part type of the OpenAI chat API
}
ALLOWED_IN = {
    # file -> names it may spell for another meaning
    "bench/variants.py": {"uniform"},  # the bench's ablation *variant* spec (docs/bench.md); its scorer is ABLATION_SCORER
}


def core_files() -> list[Path]:
    return sorted(path for path in CORE.rglob("*.py") if path != DEFAULTS)


def builtin_names() -> set[str]:
    registry = get_registry()
    builtin = {info.name for info in registry.plugins() if info.builtin}
    return {
        name
        for kind in NAMED_KINDS
        for name in registry.names(kind)
        if registry.registration(kind, name).plugin in builtin
    }


def plugin_names_in(path: Path, names: set[str]) -> list[str]:
    """``file:line: 'name'`` for every string constant in ``path`` that is one of ``names``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(CORE.parent)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
    ]


def plugin_imports_in(path: Path) -> list[str]:
    """``file:line: module`` for every import of a built-in plugin package in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        found += [f"{path.relative_to(CORE.parent)}:{node.lineno}: {m}" for m in modules if m.split(".")[0] in PLUGIN_PACKAGES]
    return found


def test_the_registry_knows_the_builtin_plugins():
    names = builtin_names()
    # the check below is only as good as this list: it must hold every kind's built-ins
    assert {"jpeg", "vvenc", "tinyclip", "uniform", "nltk", "roi", "openai", "linear", "qwen2.5-vl"} <= names


def test_the_core_names_no_plugin_outside_the_defaults():
    names = builtin_names() - ORDINARY_WORDS
    hits = [
        hit
        for path in core_files()
        for hit in plugin_names_in(path, names - ALLOWED_IN.get(path.relative_to(CORE).as_posix(), set()))
    ]
    assert hits == [], "plugin names in the core (read them from pgpcodec.defaults):\n" + "\n".join(hits)


def test_the_core_imports_no_plugin():
    hits = [hit for path in core_files() for hit in plugin_imports_in(path)]
    assert hits == [], "the core imports plugins:\n" + "\n".join(hits)


@pytest.mark.parametrize(
    "source, finds",
    [
        ('codec = "jpeg"\n', ["x.py:1: 'jpeg'"]),
        ('def f(scorer="uniform"):\n    return scorer\n', ["x.py:1: 'uniform'"]),
        ('"""A docstring that mentions jpeg."""\n', []),
    ],
)
def test_the_name_check_finds_literals(tmp_path, monkeypatch, source, finds):
    monkeypatch.setattr(sys.modules[__name__], "CORE", tmp_path / "core")
    (tmp_path / "core").mkdir()
    path = tmp_path / "core" / "x.py"
    path.write_text(source)
    assert [hit.replace("core/", "") for hit in plugin_names_in(path, {"jpeg", "uniform"})] == finds


@pytest.mark.parametrize(
    "source, finds",
    [
        ("import pgpcodec_codecs.pillow\n", 1),
        ("from pgpcodec_scorers import basic\n", 1),
        ("from .defaults import DEFAULT_CODEC\n", 0),
        ("import pgpcodec.plugins\n", 0),
    ],
)
def test_the_import_check_finds_plugin_imports(tmp_path, monkeypatch, source, finds):
    monkeypatch.setattr(sys.modules[__name__], "CORE", tmp_path / "core")
    (tmp_path / "core").mkdir()
    path = tmp_path / "core" / "x.py"
    path.write_text(source)
    assert len(plugin_imports_in(path)) == finds
