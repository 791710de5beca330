"""The built-in plugins as the registry and `pgpcodec plugins` see them (third-party cases: test_plugin_registry.py)."""

import json

from pgpcodec.plugins import get_registry


def test_builtins_load_through_entry_points():
    registry = get_registry()
    infos = {info.name: info for info in registry.plugins()}
    assert {"pillow_codecs", "basic_scorers", "prompt_processors", "sigma_maps"} <= set(infos)
    assert all(infos[name].distribution == "pgpcodec" and infos[name].version for name in infos if infos[name].builtin)
    assert {"jpeg", "heic", "avif", "webp"} <= set(registry.names("codec"))
    assert {"regions", "uniform"} <= set(registry.names("scorer"))
    assert registry.names("sigma_map") == ["exponential", "linear", "reciprocal"]
    assert {"nltk", "none"} <= set(registry.names("prompt_processor"))


def test_plugins_json_lists_every_builtin_with_its_version(run_cli):
    code, out, err = run_cli("plugins", "--json")
    assert code == 0
    listed = {item["name"]: item for item in json.loads(out)}
    for name, kind in (("pillow_codecs", "codec"), ("basic_scorers", "scorer"), ("sigma_maps", "sigma_map"), ("prompt_processors", "prompt_processor")):
        assert listed[name]["version"] and listed[name]["distribution"] == "pgpcodec"
        assert kind in listed[name]["kinds"] and not listed[name]["broken"]
