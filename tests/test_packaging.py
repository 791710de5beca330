"""What the distribution puts in site-packages: only pgpcodec-namespaced import names."""

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent


def test_only_namespaced_top_level_packages_are_installed():
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = [p for where in find["where"] for p in find_packages(where=str(ROOT / where), include=find["include"])]
    top_level = {name.split(".")[0] for name in packages}
    assert top_level == {"pgpcodec", "pgpcodec_codecs", "pgpcodec_scorers", "pgpcodec_evaluators", "pgpcodec_fit_targets"}
    assert "plugins" not in top_level and not any(name.startswith(("tests", "benchmarks")) for name in packages)


def test_builtin_plugins_are_entry_points_of_the_pgpcodec_group():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    modules = set(project["entry-points"]["pgpcodec"].values())
    assert {"pgpcodec_codecs.pillow_plugin", "pgpcodec_codecs.vvenc_plugin", "pgpcodec_scorers.tinyclip", "pgpcodec_scorers.sigma_maps"} <= modules
