"""Model cache location and manifest validation (pgpcodec_scorers.tinyclip.cache)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pgpcodec.errors import InputError, InvalidModelError, ModelNotFoundError, UsageError
from pgpcodec_scorers.tinyclip import cache

DIGEST = "ab" * 32


def valid_manifest(**changes) -> dict:
    data = {
        "format": "pgpcodec-clip-onnx",
        "format_version": 1,
        "name": "tinyclip57",
        "architecture": "TinyCLIP-auto-ViT-22M-32-Text-10M",
        "image_size": 224,
        "context_length": 77,
        "embed_dim": 512,
        "logit_scale": 100.0,
        "weights": "pretrained",
        "source": {"repo": "example/tinyclip", "revision": "abc"},
        "files": {"vision": "vision.onnx", "text": "text.onnx", "tokenizer": "tokenizer.json"},
        "sha256": {"vision.onnx": DIGEST, "text.onnx": DIGEST, "tokenizer.json": DIGEST},
    }
    data.update(changes)
    return data


def write_manifest(directory: Path, data) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else json.dumps(data)
    (directory / "manifest.json").write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def models_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "models"
    monkeypatch.setenv(cache.MODELS_DIR_ENV, str(home))
    return home


def test_models_dir_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.MODELS_DIR_ENV, str(tmp_path / "elsewhere"))
    assert cache.models_dir() == tmp_path / "elsewhere"
    assert cache.model_path("tinyclip57") == tmp_path / "elsewhere" / "tinyclip57"


def test_models_dir_defaults_to_the_user_cache(monkeypatch):
    from platformdirs import user_cache_dir

    monkeypatch.delenv(cache.MODELS_DIR_ENV, raising=False)
    assert cache.models_dir() == Path(user_cache_dir("pgpcodec")) / "models"
    monkeypatch.setenv(cache.MODELS_DIR_ENV, "  ")  # blank counts as unset
    assert cache.models_dir() == Path(user_cache_dir("pgpcodec")) / "models"


@pytest.mark.parametrize("name", ["", "../evil", "a/b", ".hidden", "tiny clip", "x\\y"])
def test_model_path_rejects_names_that_are_not_plain(name, models_home):
    with pytest.raises(UsageError, match="not a valid model name"):
        cache.model_path(name)


def test_read_manifest_returns_the_fields(tmp_path):
    directory = write_manifest(tmp_path / "m", valid_manifest())
    manifest = cache.read_manifest(directory)
    assert manifest.directory == directory
    assert (manifest.name, manifest.image_size, manifest.context_length, manifest.embed_dim) == ("tinyclip57", 224, 77, 512)
    assert manifest.logit_scale == 100.0 and not manifest.random_init
    assert manifest.has("vision") and not manifest.has("vision_int8")
    assert dict(manifest.sha256) == {"vision.onnx": DIGEST, "text.onnx": DIGEST, "tokenizer.json": DIGEST}
    with pytest.raises(TypeError):
        manifest.files["vision"] = "other.onnx"
    with pytest.raises(AttributeError):
        manifest.name = "other"


def test_random_init_is_reported(tmp_path):
    manifest = cache.read_manifest(write_manifest(tmp_path / "m", valid_manifest(weights="random-init")))
    assert manifest.random_init


def _without(key: str) -> dict:
    data = valid_manifest()
    del data[key]
    return data


CORRUPT = {
    "not json": ("{", "cannot be read as JSON"),
    "not an object": ("[1, 2]", "not a JSON object"),
    "wrong format": (valid_manifest(format="onnx-clip"), "has format 'onnx-clip', expected 'pgpcodec-clip-onnx'"),
    "no format": (_without("format"), "has format None"),
    "version as text": (valid_manifest(format_version="1"), "format_version '1'"),
    "no name": (_without("name"), "'name' must be a non-empty string"),
    "zero image size": (valid_manifest(image_size=0), "'image_size' must be a positive whole number"),
    "bool context": (valid_manifest(context_length=True), "'context_length' must be a positive whole number"),
    "float embed dim": (valid_manifest(embed_dim=512.0), "'embed_dim' must be a positive whole number"),
    "text logit scale": (valid_manifest(logit_scale="100"), "'logit_scale' must be a number"),
    "unknown weights": (valid_manifest(weights="trained"), "'weights' must be one of pretrained, random-init"),
    "source not object": (valid_manifest(source="github"), "'source' must be a JSON object"),
    "no tokenizer": (valid_manifest(files={"vision": "vision.onnx", "text": "text.onnx"}), "lacks the 'tokenizer' entry"),
    "unknown role": (
        valid_manifest(files={"vision": "v.onnx", "text": "t.onnx", "tokenizer": "t.json", "audio": "a.onnx"}),
        "unknown entry 'audio'",
    ),
    "escaping path": (
        valid_manifest(files={"vision": "../vision.onnx", "text": "text.onnx", "tokenizer": "tokenizer.json"}),
        "not a relative path inside the directory",
    ),
    "absolute path": (
        valid_manifest(files={"vision": "/etc/vision.onnx", "text": "text.onnx", "tokenizer": "tokenizer.json"}),
        "not a relative path inside the directory",
    ),
    "missing digest": (valid_manifest(sha256={"vision.onnx": DIGEST, "text.onnx": DIGEST}), "no valid lowercase hex digest for tokenizer.json"),
    "uppercase digest": (
        valid_manifest(sha256={"vision.onnx": DIGEST.upper(), "text.onnx": DIGEST, "tokenizer.json": DIGEST}),
        "no valid lowercase hex digest for vision.onnx",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_manifests_are_refused_with_the_reason(case, tmp_path):
    data, reason = CORRUPT[case]
    directory = write_manifest(tmp_path / "m", data)
    with pytest.raises(InvalidModelError) as caught:
        cache.read_manifest(directory)
    assert reason in caught.value.message
    assert str(directory) in caught.value.message
    assert caught.value.hint == "re-export the model directory, or use another one"


def test_a_newer_format_version_asks_for_an_upgrade(tmp_path):
    directory = write_manifest(tmp_path / "m", valid_manifest(format_version=2))
    with pytest.raises(InvalidModelError, match="newer than this pgpcodec reads") as caught:
        cache.read_manifest(directory)
    assert caught.value.hint == "upgrade pgpcodec"


def test_directory_without_manifest(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(InvalidModelError, match="has no manifest.json"):
        cache.read_manifest(tmp_path / "m")


def test_missing_installed_model_names_the_commands_that_fix_it(models_home):
    with pytest.raises(ModelNotFoundError) as caught:
        cache.resolve_model("tinyclip57")
    error = caught.value
    assert error.model_name == "tinyclip57"
    assert str(models_home) in error.message
    assert "pgpcodec models pull tinyclip57" in error.hint
    assert "pgpcodec models import tinyclip57 PATH" in error.hint


def test_interrupted_install_without_manifest_counts_as_missing(models_home):
    (models_home / "tinyclip57").mkdir(parents=True)
    (models_home / "tinyclip57" / "vision.onnx").write_bytes(b"partial")
    with pytest.raises(ModelNotFoundError, match="not installed"):
        cache.resolve_model("tinyclip57")


def test_corrupt_installed_model_suggests_pulling_again(models_home):
    write_manifest(models_home / "tinyclip57", "{")
    with pytest.raises(InvalidModelError) as caught:
        cache.resolve_model("tinyclip57")
    assert caught.value.hint == "reinstall it with 'pgpcodec models pull tinyclip57'"


def test_resolve_installed_name_and_paths(models_home, tmp_path, monkeypatch):
    installed = write_manifest(models_home / "tinyclip57", valid_manifest())
    assert cache.resolve_model("tinyclip57").directory == installed
    elsewhere = write_manifest(tmp_path / "exports" / "mine", valid_manifest(name="mine"))
    assert cache.resolve_model(elsewhere).name == "mine"
    assert cache.resolve_model(str(elsewhere)).name == "mine"
    # A bare folder name in the working directory works when no model of that name is installed.
    monkeypatch.chdir(tmp_path / "exports")
    assert cache.resolve_model("mine").name == "mine"


def test_resolve_missing_path(tmp_path, models_home):
    with pytest.raises(InputError, match="no such model directory"):
        cache.resolve_model(tmp_path / "nowhere")


def test_listed_file_must_exist(tmp_path):
    manifest = cache.read_manifest(write_manifest(tmp_path / "m", valid_manifest()))
    with pytest.raises(InvalidModelError, match="vision.onnx is listed in manifest.json but missing"):
        manifest.path("vision")
    with pytest.raises(InvalidModelError, match="no 'vision_int8' file"):
        manifest.path("vision_int8")
    (tmp_path / "m" / "vision.onnx").write_bytes(b"x")
    assert manifest.path("vision") == tmp_path / "m" / "vision.onnx"


def test_importing_the_cache_is_light():
    code = "import sys, pgpcodec_scorers.tinyclip.cache; print(sorted(m for m in ('onnxruntime', 'tokenizers', 'onnx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
