"""The core imports no built-in plugin package: plugins import the core, never the other way."""

from __future__ import annotations

import ast
from pathlib import Path

import pgpcodec

PLUGIN_PACKAGES = {"pgpcodec_codecs", "pgpcodec_scorers", "pgpcodec_evaluators"}


def test_no_core_module_imports_a_plugin_package():
    core = Path(pgpcodec.__file__).parent
    offenders = []
    for path in sorted(core.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [f"{path.relative_to(core)}:{node.lineno} {name}" for name in names if name.split(".")[0] in PLUGIN_PACKAGES]
    assert offenders == []
    assert len(list(core.rglob("*.py"))) > 20  # the walk found the core
