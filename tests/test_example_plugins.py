"""The example plugins in plugins/ install into a fresh environment like any package.

One virtual environment for the module: pgpcodec is pip-installed into it
from this checkout (a real, non-editable install), then each example plugin
with ``pgpcodec install ./plugins/<name>``, which resolves the plugin's own
dependencies (pillow-jxl-plugin for JPEG XL) from the package index. To
avoid downloading numpy, scipy, Pillow… again, the environment sees this
one's third-party packages through a .pth file, with every pgpcodec
distribution (and the plugins' own dependencies) filtered out of that view.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from pgpcodec.testing.samples import sample_file

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = {
    # distribution: (entry-point name, kind, provided name, top-level package)
    "pgpcodec-jxl": ("jxl", "codec", "jxl", "pgpcodec_jxl"),
    "pgpcodec-saliency": ("saliency", "scorer", "spectral-residual", "pgpcodec_saliency"),
}
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")
HIDDEN_PREFIXES = ("pgpcodec", "__editable__.pgpcodec", "pillow_jxl")
"""Entries of this environment's site-packages the fresh one must not see."""

pytestmark = pytest.mark.slow


class FreshEnv:
    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "venv" / "bin"
        self.python = self.bin / "python"
        self.checkout: Path | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PGPCODEC_", "VIRTUAL_ENV", "PYTHON"))}

    def run(self, *args, cwd=None, check=True) -> subprocess.CompletedProcess:
        completed = subprocess.run([str(a) for a in args], cwd=cwd, env=self.env, capture_output=True, text=True)
        if check and completed.returncode != 0:
            raise AssertionError(f"{args} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
        return completed

    def pgpcodec(self, *args, check=True) -> subprocess.CompletedProcess:
        return self.run(self.bin / "pgpcodec", *args, check=check)

    def plugins(self) -> dict[str, dict]:
        return {p["name"]: p for p in json.loads(self.pgpcodec("plugins", "--json").stdout)}

    def site_packages(self) -> Path:
        return Path(self.run(self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())


def _shadow_site(target: Path) -> Path:
    """A folder of links to this environment's installed packages, minus pgpcodec's own."""
    target.mkdir()
    for site in dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]):
        for entry in Path(site).iterdir():
            if entry.name.lower().startswith(HIDDEN_PREFIXES) or entry.suffix == ".pth" or (target / entry.name).exists():
                continue
            (target / entry.name).symlink_to(entry)
    return target


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> FreshEnv:
    env = FreshEnv(tmp_path_factory.mktemp("fresh-env"))
    env.run(sys.executable, "-m", "venv", "--without-pip", env.root / "venv")
    shadow = _shadow_site(env.root / "shared-site")
    (env.site_packages() / "_shared_test_packages.pth").write_text(f"{shadow}\n")
    # Builds happen in copies, so the checkout gets no build/ or egg-info folders.
    source = env.root / "checkout"
    shutil.copytree(REPO, source, ignore=COPY_IGNORE, symlinks=True)
    env.checkout = source
    # pip itself comes from the shared view; pgpcodec is built and installed for real.
    env.run(env.python, "-m", "pip", "install", "--quiet", "--no-deps", str(source))
    return env


def test_pgpcodec_alone_lists_only_the_builtins(fresh):
    plugins = fresh.plugins()
    assert plugins and all(p["builtin"] for p in plugins.values()), plugins
    assert not any(name in plugins for name, *_ in EXAMPLES.values())


@pytest.mark.parametrize("distribution", sorted(EXAMPLES))
def test_install_use_test_and_uninstall(fresh, distribution, tmp_path):
    entry, kind, provided, package = EXAMPLES[distribution]
    project = fresh.checkout / "plugins" / distribution
    installed = fresh.pgpcodec("install", project)
    assert f"plugin {entry} ({distribution} 0.1.0) provides {kind}: {provided}" in installed.stdout

    listed = fresh.plugins()[entry]
    assert listed["distribution"] == distribution and listed["version"] == "0.1.0"
    assert listed["kinds"] == [kind] and listed["provides"] == {kind: [provided]}
    assert listed["broken"] is False and listed["builtin"] is False

    source = sample_file(tmp_path / "photo.png", 120, 90)
    choice = ["--codec", provided, "--scorer", "uniform"] if kind == "codec" else ["--scorer", provided]
    out = tmp_path / "photo.out"
    result = json.loads(fresh.pgpcodec("encode", source, *choice, "--prompt-processor", "none", "--json", "-o", out).stdout)
    assert out.stat().st_size == result["bytes"] > 0
    if kind == "codec":
        assert result["codec"] == provided and out.read_bytes()[:2] == b"\xff\x0a"
        fresh.pgpcodec("decode", out, "-o", tmp_path / "back.png")
        assert (tmp_path / "back.png").stat().st_size > 0

    # The plugin's own test suite, using pgpcodec's test kit as installed.
    suite = fresh.run(fresh.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, check=False)
    assert suite.returncode == 0, suite.stdout + suite.stderr

    removed = fresh.pgpcodec("uninstall", "--yes", distribution)
    assert f"plugin {entry} removed" in removed.stdout
    assert entry not in fresh.plugins()
    site = fresh.site_packages()
    leftovers = [p.name for p in site.iterdir() if p.name.lower().startswith((package, distribution.replace("-", "_")))]
    assert leftovers == []
    unknown = fresh.pgpcodec("encode", source, *choice, "-o", tmp_path / "again.out", check=False)
    assert unknown.returncode == 2 and f"unknown {kind} {provided!r}" in unknown.stderr


def test_uninstall_refuses_pgpcodec_itself(fresh):
    refused = fresh.pgpcodec("uninstall", "--yes", "PGPCodec", check=False)
    assert refused.returncode == 2 and "will not uninstall pgpcodec itself" in refused.stderr
    assert fresh.run(fresh.python, "-c", "import pgpcodec").returncode == 0
