"""Plugin discovery: broken plugins, PGPCODEC_LOAD_PLUGINS, conflicts, and the `pgpcodec plugins` output.

Each test installs small fake distributions (a dist-info folder with an
entry_points.txt, plus their modules) on sys.path, so discovery goes
through importlib.metadata exactly as for a pip-installed plugin.
"""

from __future__ import annotations

import json
import sys
import textwrap
import warnings

import pytest

from pgpcodec.errors import PluginError, UnknownPluginError
from pgpcodec.plugins import LOAD_PLUGINS_ENV, PluginLoadWarning, PluginRegistry

GOOD = '''
from pgpcodec import hookimpl
from pgpcodec_codecs.pillow import JpegCodec

class Fake(JpegCodec):
    name = "fakejpeg"

@hookimpl
def register_codecs(register):
    register("fakejpeg", Fake)
'''


@pytest.fixture
def install_fake(tmp_path, monkeypatch, pgpcodec_isolated):
    """install_fake("dist-name", {"module": source}, entry_name="module") puts a distribution on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    imported: list[str] = []

    def install(dist: str, modules: dict[str, str], entry_points: dict[str, str] | None = None, version: str = "1.2.3"):
        for module, source in modules.items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
            sys.modules.pop(module, None)
            imported.append(module)
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        eps = entry_points or {name: name for name in modules}
        (info / "entry_points.txt").write_text("[pgpcodec]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()))

    yield install
    for module in imported:  # the next test's fake of the same name must be imported afresh
        sys.modules.pop(module, None)


def load() -> tuple[PluginRegistry, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = PluginRegistry()
    return registry, [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]


def info(registry: PluginRegistry, name: str):
    return next(i for i in registry.plugins() if i.name == name)


def test_a_good_third_party_plugin_is_found_with_its_distribution_and_version(install_fake):
    install_fake("fake-good", {"fake_good": GOOD})
    registry, problems = load()
    assert problems == []
    plugin = info(registry, "fake_good").to_dict()
    assert plugin == {
        "name": "fake_good",
        "module": "fake_good",
        "distribution": "fake-good",
        "version": "1.2.3",
        "builtin": False,
        "kinds": ["codec"],
        "provides": {"codec": ["fakejpeg"]},
        "broken": False,
        "error": None,
        "disabled": False,
        "conflicts": [],
    }
    assert registry.create("codec", "fakejpeg").name == "fakejpeg"
    assert info(registry, "pillow_codecs").builtin


@pytest.mark.parametrize(
    "source, error",
    [
        ("import no_such_dependency_xyz\n", "import failed: ModuleNotFoundError: No module named 'no_such_dependency_xyz'"),
        ("raise RuntimeError('half-installed')\n", "import failed: RuntimeError: half-installed"),
        (
            "from pgpcodec import hookimpl\n@hookimpl\ndef register_codecs(register):\n    raise ValueError('boom')\n",
            "register_codecs raised: ValueError: boom",
        ),
        (
            "from pgpcodec import hookimpl\n@hookimpl\ndef register_codecs(register):\n    register('x', 42)\n",
            "register_codecs raised: TypeError: register() needs a name and a factory (a callable, or 'module:attribute'), got 'x', 42",
        ),
        (
            "from pgpcodec import hookimpl\n@hookimpl\ndef register_codec(register):\n    pass\n",
            "unknown hook 'register_codec' (did you mean 'register_codecs'?)",
        ),
        ("from pgpcodec import hookimpl\n@hookimpl\ndef register_scorers(reg):\n    pass\n", "invalid hook implementation: "),
    ],
    ids=["missing-dependency", "raises-on-import", "hook-raises", "bad-factory", "unknown-hook", "wrong-argument"],
)
def test_a_broken_plugin_is_reported_and_skipped_and_the_rest_work(install_fake, source, error):
    install_fake("fake-broken", {"fake_broken": source})
    install_fake("fake-good", {"fake_good": GOOD})
    registry, problems = load()
    broken = info(registry, "fake_broken")
    assert broken.error.startswith(error)
    assert broken.provides == {}
    assert [b.name for b in registry.broken()] == ["fake_broken"]
    assert len(problems) == 1 and "fake_broken" in problems[0] and error in problems[0]
    assert "fakejpeg" in registry.names("codec") and "jpeg" in registry.names("codec")


def test_plugins_command_lists_a_broken_plugin_with_its_error(install_fake, pgpcodec_cli):
    install_fake("fake-broken", {"fake_broken": "import no_such_dependency_xyz\n"})
    result = pgpcodec_cli("plugins", "--json")
    assert result.exit_code == 0
    listed = {p["name"]: p for p in json.loads(result.stdout)}
    assert listed["fake_broken"]["broken"] is True
    assert "no_such_dependency_xyz" in listed["fake_broken"]["error"]
    assert listed["pillow_codecs"]["broken"] is False
    assert result.stderr == ""  # the listing shows the problem; no warning on top

    table = pgpcodec_cli("plugins")
    assert table.exit_code == 0 and "fake_broken" in table.stdout and "broken" in table.stdout


def test_other_commands_warn_in_one_line_and_still_work(install_fake, pgpcodec_cli, tmp_path):
    from pgpcodec.testing.samples import sample_file

    install_fake("fake-broken", {"fake_broken": "import no_such_dependency_xyz\n"})
    source = sample_file(tmp_path / "a.png", 32, 24)
    result = pgpcodec_cli("encode", source, "--scorer", "uniform", "--prompt-processor", "none", "-o", tmp_path / "a.jpg")
    assert result.exit_code == 0, result.stderr
    assert "pgpcodec: warning: pgpcodec plugin 'fake_broken' skipped: import failed: ModuleNotFoundError" in result.stderr
    assert "Traceback" not in result.stderr and "plugins.py" not in result.stderr


def test_a_name_conflict_keeps_the_builtin_and_is_reported(install_fake):
    source = GOOD.replace('register("fakejpeg", Fake)', 'register("jpeg", Fake)\n    register("fakejpeg", Fake)')
    install_fake("fake-good", {"fake_good": source})
    registry, problems = load()
    plugin = info(registry, "fake_good")
    assert plugin.conflicts == ["codec 'jpeg' is already provided by 'pillow_codecs', which is used"]
    assert plugin.provides == {"codec": ["fakejpeg"]}
    assert registry.registration("codec", "jpeg").plugin == "pillow_codecs"
    assert any("already provided" in p for p in problems)


def test_two_distributions_with_the_same_entry_point_name_are_both_listed(install_fake):
    install_fake("fake-one", {"fake_one": GOOD}, {"shared": "fake_one"})
    install_fake("fake-two", {"fake_two": GOOD.replace("fakejpeg", "fakejpeg2")}, {"shared": "fake_two"})
    registry, problems = load()
    names = {i.name: i.distribution for i in registry.plugins()}
    assert names["shared"] in {"fake-one", "fake-two"}
    other = "fake-two" if names["shared"] == "fake-one" else "fake-one"
    assert names[f"shared ({other})"] == other
    assert {"fakejpeg", "fakejpeg2"} <= set(registry.names("codec"))
    assert problems == []


class TestLoadPluginsVariable:
    @pytest.fixture(autouse=True)
    def two_plugins(self, install_fake):
        install_fake("fake-good", {"fake_good": GOOD})
        install_fake("fake-other", {"fake_other": GOOD.replace("fakejpeg", "otherjpeg")})

    def test_unset_loads_every_plugin(self):
        registry, _ = load()
        assert {"fakejpeg", "otherjpeg"} <= set(registry.names("codec"))

    def test_empty_loads_only_the_builtins_and_lists_the_rest_as_not_loaded(self, monkeypatch):
        monkeypatch.setenv(LOAD_PLUGINS_ENV, "")
        registry, problems = load()
        assert registry.names("codec") == sorted({"jpeg", "webp", "avif", "heic"} | set(registry.names("codec")) - {"fakejpeg", "otherjpeg"})
        assert "fakejpeg" not in registry.names("codec") and "jpeg" in registry.names("codec")
        assert info(registry, "fake_good").disabled and info(registry, "fake_good").to_dict()["disabled"] is True
        assert problems == []
        with pytest.raises(UnknownPluginError) as exc:
            registry.create("codec", "fakejpeg")
        assert "PGPCODEC_LOAD_PLUGINS leaves out the installed plugins" in exc.value.hint
        assert "fake_good" in exc.value.hint

    @pytest.mark.parametrize("value", ["fake_good", "fake-good", " Fake.Good ,", "fake_good,"])
    def test_names_select_by_entry_point_or_distribution(self, monkeypatch, value):
        monkeypatch.setenv(LOAD_PLUGINS_ENV, value)
        registry, problems = load()
        assert "fakejpeg" in registry.names("codec")
        assert "otherjpeg" not in registry.names("codec")
        assert problems == []

    def test_unknown_names_are_warned_about(self, monkeypatch, pgpcodec_cli):
        monkeypatch.setenv(LOAD_PLUGINS_ENV, "fake_good,no-such-plugin")
        registry, problems = load()
        assert registry.unknown_requested == ["no-such-plugin"]
        assert problems == ["PGPCODEC_LOAD_PLUGINS names no-such-plugin, which no installed plugin provides"]
        result = pgpcodec_cli("plugins", "--json")
        assert result.exit_code == 0
        assert "no-such-plugin" in result.stderr
        listed = {p["name"]: p for p in json.loads(result.stdout)}
        assert listed["fake_other"]["disabled"] is True and listed["fake_good"]["disabled"] is False


def test_a_factory_that_fails_names_its_plugin(install_fake):
    source = GOOD.replace("class Fake(JpegCodec):", "class Fake(JpegCodec):\n    def __init__(self):\n        raise OSError('no device')\n")
    install_fake("fake-good", {"fake_good": source})
    registry, _ = load()
    with pytest.raises(PluginError, match="codec 'fakejpeg' from plugin 'fake_good' failed to start: OSError: no device"):
        registry.create("codec", "fakejpeg")


COMMANDS = '''
import click
from pgpcodec import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("who")
    def hello(who):
        """Say hello to WHO."""
        click.echo(f"hello {who}")

    @cli.command()
    def encode():
        """Would shadow the core encode."""
'''


def test_a_plugin_adds_commands_listed_in_help_and_plugins_and_cannot_shadow_core_ones(install_fake, run_cli):
    install_fake("fake-commands", {"fake_commands": COMMANDS})
    code, out, err = run_cli("hello", "world")
    assert (code, out.strip()) == (0, "hello world"), err
    assert "fake_commands': command 'encode' is already provided by 'pgpcodec', which is used" in err
    code, out, _ = run_cli("--help")
    assert code == 0 and "hello" in out and "Say hello to WHO." in out
    code, out, _ = run_cli("encode", "--help")
    assert code == 0 and "Would shadow" not in out  # the core command is the one used
    code, out, _ = run_cli("plugins", "--json")
    listed = {p["name"]: p for p in json.loads(out)}
    assert listed["fake_commands"]["provides"] == {"command": ["hello"]}
    assert listed["tinyclip"]["provides"]["command"] == ["models"]
    assert listed["prompt_processors"]["provides"]["command"] == ["setup-nltk"]


def test_a_command_hook_that_raises_marks_its_plugin_broken_and_the_rest_work(install_fake, run_cli):
    install_fake(
        "fake-bad-commands",
        {"fake_bad_commands": "from pgpcodec import hookimpl\n@hookimpl\ndef register_commands(cli):\n    raise RuntimeError('no')\n"},
    )
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        code, out, err = run_cli("models", "--help")
        assert code == 0 and "pull" in out, err
        code, out, _ = run_cli("plugins", "--json")
    broken = {p["name"]: p for p in json.loads(out)}["fake_bad_commands"]
    assert broken["broken"] and broken["error"] == "register_commands raised: RuntimeError: no"


LAZY = '''
from pgpcodec import hookimpl

@hookimpl
def register_codecs(register):
    register("lazyjpeg", "fake_lazy_impl:Fake")
    register("lazymissing", "fake_lazy_nowhere:Fake")
    register("lazyextra", "fake_lazy_extra:Fake")
'''
LAZY_EXTRA = '''
from pgpcodec.errors import MissingResourceError

raise MissingResourceError("lazyextra needs somepackage, which is not installed", "pip install 'fake-lazy[extra]'")
'''
LAZY_IMPL = '''
from pgpcodec_codecs.pillow import JpegCodec

class Fake(JpegCodec):
    name = "lazyjpeg"

    def __init__(self, *, speed: int = 1):
        self.speed = speed
'''


def test_a_factory_named_as_text_is_imported_only_when_used(install_fake):
    install_fake(
        "fake-lazy", {"fake_lazy": LAZY, "fake_lazy_impl": LAZY_IMPL, "fake_lazy_extra": LAZY_EXTRA}, entry_points={"fake_lazy": "fake_lazy"}
    )
    registry, problems = load()
    assert problems == [] and "fake_lazy_impl" not in sys.modules
    assert {"lazyjpeg", "lazymissing"} <= set(registry.names("codec"))
    codec = registry.create("codec", "lazyjpeg", speed=3)
    assert type(codec).__module__ == "fake_lazy_impl" and codec.speed == 3
    with pytest.raises(UnknownPluginError.__mro__[1], match="has no option quality_x"):  # the caller's mistake
        registry.create("codec", "lazyjpeg", quality_x=1)
    with pytest.raises(PluginError, match=r"codec 'lazymissing' from plugin 'fake_lazy' cannot be loaded: ModuleNotFoundError"):
        registry.create("codec", "lazymissing")
    from pgpcodec.errors import MissingResourceError

    with pytest.raises(MissingResourceError) as missing:  # the implementation's own clear error, not a generic one
        registry.create("codec", "lazyextra")
    assert missing.value.hint == "pip install 'fake-lazy[extra]'" and missing.value.plugin == "fake_lazy"


def test_every_builtin_entry_point_module_is_light_to_import():
    """`pgpcodec --help` and `pgpcodec plugins` import every plugin's entry module: none may pull in a runtime."""
    import subprocess
    import tomllib
    from pathlib import Path

    modules = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]["entry-points"]["pgpcodec"]
    heavy = ("numpy", "PIL", "scipy", "onnxruntime", "torch", "matplotlib", "nltk", "rich", "rapidocr_onnxruntime", "cv2")
    code = f"import sys\nfor m in {sorted(modules.values())!r}:\n    __import__(m)\nprint(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
