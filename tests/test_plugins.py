import json
import textwrap
from importlib.metadata import EntryPoint

import pytest

from pgpcodec.errors import PluginError, UnknownPluginError
from pgpcodec.plugins import ENTRY_POINT_GROUP, LOAD_PLUGINS_ENV, PluginLoadWarning, PluginRegistry, get_registry


def write_module(tmp_path, monkeypatch, name, body):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    return EntryPoint(name, name, ENTRY_POINT_GROUP)


GOOD = """
    from pgpcodec import hookimpl
    from pgpcodec_codecs.pillow import JpegCodec

    class Renamed(JpegCodec):
        name = "jpeg2"

    @hookimpl
    def register_codecs(register):
        register("jpeg2", Renamed)

    @hookimpl
    def register_scorers(register):
        def broken_factory():
            raise RuntimeError("model file is corrupt")
        register("fragile", broken_factory)
"""


def test_builtins_load_through_entry_points():
    registry = get_registry()
    infos = {info.name: info for info in registry.plugins()}
    assert {"pillow_codecs", "basic_scorers", "prompt_processors", "sigma_maps"} <= set(infos)
    assert all(infos[name].distribution == "pgpcodec" and infos[name].version for name in infos if infos[name].builtin)
    assert {"jpeg", "heic", "avif", "webp"} <= set(registry.names("codec"))
    assert {"regions", "uniform"} <= set(registry.names("scorer"))
    assert registry.names("sigma_map") == ["exponential", "linear", "reciprocal"]
    assert {"nltk", "none"} <= set(registry.names("prompt_processor"))


def test_broken_plugins_are_reported_and_skipped(tmp_path, monkeypatch):
    good = write_module(tmp_path, monkeypatch, "pgp_test_good", GOOD)
    missing = EntryPoint("ghost", "pgp_test_no_such_module", ENTRY_POINT_GROUP)
    raising = write_module(
        tmp_path,
        monkeypatch,
        "pgp_test_raising",
        """
        from pgpcodec import hookimpl

        @hookimpl
        def register_codecs(register):
            raise ValueError("boom")
        """,
    )
    with pytest.warns(PluginLoadWarning) as caught:
        registry = PluginRegistry([good, missing, raising])
    assert len(caught) == 2
    infos = {info.name: info for info in registry.plugins()}
    assert "No module named 'pgp_test_no_such_module'" in infos["ghost"].error
    assert "register_codecs raised: ValueError: boom" in infos["pgp_test_raising"].error
    assert infos["pgp_test_good"].error is None
    assert infos["pgp_test_good"].provides == {"codec": ["jpeg2"], "scorer": ["fragile"]}
    assert registry.names("codec") == ["jpeg2"]
    assert registry.create("codec", "jpeg2").name == "jpeg2"
    with pytest.raises(PluginError, match="scorer 'fragile' from plugin 'pgp_test_good' failed to start: RuntimeError: model file is corrupt"):
        registry.create("scorer", "fragile")
    with pytest.raises(UnknownPluginError, match="valid names: jpeg2"):
        registry.create("codec", "jpeg")
    assert infos["ghost"].to_dict()["broken"] is True


def test_load_plugins_env_limits_third_party_plugins(tmp_path, monkeypatch):
    good = write_module(tmp_path, monkeypatch, "pgp_test_good2", GOOD)
    monkeypatch.setenv(LOAD_PLUGINS_ENV, "")
    assert PluginRegistry([good]).names("codec") == []
    monkeypatch.setenv(LOAD_PLUGINS_ENV, "something-else, pgp_test_good2")
    with pytest.warns(PluginLoadWarning, match="names something-else, which no installed plugin provides"):
        assert PluginRegistry([good]).names("codec") == ["jpeg2"]


def test_plugins_json_lists_every_builtin_with_its_version(run_cli):
    code, out, err = run_cli("plugins", "--json")
    assert code == 0
    listed = {item["name"]: item for item in json.loads(out)}
    for name, kind in (("pillow_codecs", "codec"), ("basic_scorers", "scorer"), ("sigma_maps", "sigma_map"), ("prompt_processors", "prompt_processor")):
        assert listed[name]["version"] and listed[name]["distribution"] == "pgpcodec"
        assert kind in listed[name]["kinds"] and not listed[name]["broken"]
