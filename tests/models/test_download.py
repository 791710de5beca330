"""pgpcodec models pull against a real HTTP server on loopback (HF_ENDPOINT)."""

from __future__ import annotations

import hashlib
import json

import pytest

from pgpcodec.errors import MissingResourceError
from pgpcodec_scorers.tinyclip import registry
from pgpcodec_scorers.tinyclip.download import DownloadError, HashMismatchError, fetch_url
from pgpcodec_scorers.tinyclip.install import installed_models, pull, remove
from pgpcodec_scorers.tinyclip.verify import verify_dir

from .hub_server import HubServer

pytest.importorskip("torch")
pytest.importorskip("transformers")

REPO = "test/tiny-clip"
WEIGHTS = "model.safetensors"


@pytest.fixture(scope="module")
def checkpoint_files(tmp_path_factory):
    """A randomly initialised, very small transformers CLIPModel with CLIP's real vocabulary."""
    import torch
    from transformers import CLIPConfig, CLIPModel

    from pgpcodec_scorers.tinyclip.clip_tokenizer import build_clip_tokenizer

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, vocab_size=49408, max_position_embeddings=77),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=64, patch_size=32),
        projection_dim=16,
    )
    folder = tmp_path_factory.mktemp("tiny_clip")
    CLIPModel(config).save_pretrained(folder)
    build_clip_tokenizer().save(str(folder / "tokenizer.json"))
    return {name: (folder / name).read_bytes() for name in ("config.json", WEIGHTS, "tokenizer.json")}


@pytest.fixture
def hub(checkpoint_files, models_dir, monkeypatch):
    import huggingface_hub.constants

    # huggingface_hub writes in 10 MB chunks and resumes from the last whole
    # chunk; smaller chunks let a 7 MB test file be cut and resumed mid-way.
    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    with HubServer() as server:
        for name, data in checkpoint_files.items():
            server.files[f"{REPO}/{name}"] = data
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def _register(monkeypatch, sha256=None):
    source = registry.HubSource(REPO, "main", weights=(WEIGHTS,), sha256=sha256 or {})
    entry = registry.ModelEntry("testclip", "tiny test CLIP", "", (source,), "tiny")
    monkeypatch.setitem(registry.REGISTRY, "testclip", entry)


def _all_files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_good_download_installs_verified_model_and_records_hashes(hub, models_dir, monkeypatch, checkpoint_files):
    _register(monkeypatch)
    target = pull("testclip")
    assert target == models_dir / "testclip"
    assert all(check.ok for check in verify_dir(target))
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["weights"] == "pretrained"
    record = manifest["source"]["files"][WEIGHTS]
    assert record["sha256"] == hashlib.sha256(checkpoint_files[WEIGHTS]).hexdigest()
    assert record["hash_check"] == "first-use"
    assert manifest["source"]["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert not (models_dir / ".downloads" / "testclip").exists()
    assert [m.name for m in installed_models()] == ["testclip"]
    # A second download is checked against the hash recorded by the first.
    again = json.loads((pull("testclip", force=True) / "manifest.json").read_text())
    assert again["source"]["files"][WEIGHTS]["hash_check"] == "recorded"


def test_corrupted_file_is_a_hash_mismatch_and_leaves_nothing(hub, models_dir, monkeypatch, checkpoint_files):
    good = hashlib.sha256(checkpoint_files[WEIGHTS]).hexdigest()
    _register(monkeypatch, sha256={WEIGHTS: good})
    corrupted = bytearray(checkpoint_files[WEIGHTS])
    corrupted[len(corrupted) // 2] ^= 0xFF
    hub.files[f"{REPO}/{WEIGHTS}"] = bytes(corrupted)
    with pytest.raises(HashMismatchError, match=good):
        pull("testclip")
    assert _all_files(models_dir) == []


def test_file_that_changed_since_first_download_is_rejected(hub, models_dir, monkeypatch, checkpoint_files):
    _register(monkeypatch)
    pull("testclip")
    hub.files[f"{REPO}/{WEIGHTS}"] = checkpoint_files[WEIGHTS][:-1] + b"\0"
    with pytest.raises(HashMismatchError, match="first download"):
        pull("testclip", force=True)
    assert not (models_dir / ".downloads" / "testclip").exists()
    assert all(check.ok for check in verify_dir(models_dir / "testclip"))  # the installed copy is untouched


def test_interrupted_transfer_resumes_with_a_range_request(hub, models_dir, monkeypatch):
    _register(monkeypatch)
    hub.faults[f"{REPO}/{WEIGHTS}"] = "drop_once"
    pull("testclip")
    gets = [(path, rng) for method, path, rng in hub.requests if method == "GET" and path.endswith(WEIGHTS)]
    assert len(gets) == 2 and gets[0][1] is None and gets[1][1].startswith("bytes=")
    assert all(check.ok for check in verify_dir(models_dir / "testclip"))


def test_transfer_that_keeps_failing_installs_nothing_and_names_the_command(hub, models_dir, monkeypatch):
    _register(monkeypatch)
    hub.faults[f"{REPO}/{WEIGHTS}"] = "drop_always"
    with pytest.raises(DownloadError) as caught:
        pull("testclip")
    assert "pgpcodec models pull testclip" in caught.value.hint
    assert not (models_dir / "testclip").exists()
    # huggingface_hub (2.x) drops its partial file when it gives up; nothing half-written is left.
    assert _all_files(models_dir) == []
    hub.faults.clear()
    pull("testclip")  # the next pull starts again and finishes
    assert all(check.ok for check in verify_dir(models_dir / "testclip"))


def test_offline_mode_makes_no_request_and_names_the_command(hub, models_dir, monkeypatch):
    _register(monkeypatch)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingResourceError) as caught:
        pull("testclip")
    assert "pgpcodec models pull testclip" in caught.value.hint
    assert hub.requests == []
    assert not (models_dir / "testclip").exists()


def test_cli_pull_offline_exits_non_zero_with_one_line(hub, models_dir, monkeypatch, capsys):
    from pgpcodec.cli import main

    _register(monkeypatch)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SystemExit) as exit_:
        main(["models", "pull", "testclip"])
    assert exit_.value.code != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pgpcodec models pull testclip" in err


def test_release_file_by_url_resumes_and_checks_the_hash(models_dir):
    payload = bytes(range(256)) * 400
    with HubServer() as server:
        server.files["files/ckpt.pt"] = payload
        server.faults["files/ckpt.pt"] = "drop_once"
        source = registry.UrlSource(server.url + "/files/ckpt.pt", sha256=hashlib.sha256(payload).hexdigest())
        _, (fetched,) = fetch_url("urltest", source)
        assert fetched.path.read_bytes() == payload and fetched.hash_check == "registry"
        remove("urltest")
        server.files["files/ckpt.pt"] = payload[::-1]
        with pytest.raises(HashMismatchError):
            fetch_url("urltest", source)
    assert _all_files(models_dir) == []


def test_unreachable_hub_is_a_download_error_naming_both_ways_out(models_dir, monkeypatch):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    import huggingface_hub.utils._http as hub_http

    # huggingface_hub backs off 1+2+4+8+8 s between its five retries: skip the waiting, keep the retries.
    monkeypatch.setattr(hub_http, "time", type("NoWait", (), {"sleep": staticmethod(lambda s: None), "time": hub_http.time.time, "monotonic": hub_http.time.monotonic})())
    _register(monkeypatch)
    with pytest.raises(DownloadError, match="cannot reach") as caught:
        pull("testclip")
    assert "pgpcodec models pull testclip" in caught.value.hint and "pgpcodec models import testclip" in caught.value.hint
    assert _all_files(models_dir) == []


def test_encode_offers_a_pull_only_interactively_and_only_for_registry_names(monkeypatch):
    from pgpcodec.cli import options as cli_options
    from pgpcodec_scorers.tinyclip import install
    from pgpcodec_scorers.tinyclip.cache import missing_model_error

    pulled = []
    monkeypatch.setattr(install, "pull", lambda name, **kw: pulled.append(name))
    monkeypatch.setattr(cli_options.click, "confirm", lambda *a, **kw: True)
    error = missing_model_error("tinyclip57")
    monkeypatch.setattr(cli_options.sys.stdin, "isatty", lambda: False, raising=False)
    assert cli_options.offer_fetch(error) is False and pulled == []
    monkeypatch.setattr(cli_options.sys, "stdin", type("Tty", (), {"isatty": staticmethod(lambda: True)})())
    assert cli_options.offer_fetch(error) is True and pulled == ["tinyclip57"]
    assert cli_options.offer_fetch(missing_model_error("somewhere-else")) is False
    monkeypatch.setattr(cli_options.click, "confirm", lambda *a, **kw: False)
    assert cli_options.offer_fetch(error) is False and pulled == ["tinyclip57"]
