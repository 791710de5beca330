"""A third-party plugin that raises, returns garbage or hangs gives a clear error naming it."""

from __future__ import annotations

import threading
import time
import types
from importlib.metadata import EntryPoint

import numpy as np
import pytest
from hostile_files import gradient

from pgpcodec import hookimpl
from pgpcodec.errors import InputError, PluginError
from pgpcodec.guard import PluginRef, call_plugin
from pgpcodec.interfaces import BlockGrid, Codec, EncodedImage, ScoreMap, Scorer
from pgpcodec.pipeline import Pipeline
from pgpcodec.plugins import PluginRegistry

release = threading.Event()


class BadCodec(Codec):
    extension = ".bad"
    behaviour = "raise"

    def _encode(self, image, quality):
        if self.behaviour == "raise":
            raise RuntimeError("segfault imminent")
        if self.behaviour == "none":
            return None
        if self.behaviour == "empty":
            return b""
        if self.behaviour == "hang":
            release.wait(30)
            return b"late"
        return b"ok"

    def decode(self, data):
        raise ZeroDivisionError("decoder bug")


def codec_class(behaviour):
    return type(f"{behaviour.title()}Codec", (BadCodec,), {"name": f"bad-{behaviour}", "behaviour": behaviour})


class NotAnEncodedImage(BadCodec):
    name = "bad-type"

    def encode(self, image, quality=None):  # overrides the validating base method
        return {"data": b"x"}


class GarbageScorer(Scorer):
    name = "garbage"
    prompt_guided = False
    result = "string"

    def score(self, image, prompt, *, regions=()):
        height, width = image.shape[:2]
        if self.result == "string":
            return "lots of relevance"
        if self.result == "nan":
            return ScoreMap(np.full((1, 1), np.nan), BlockGrid(width, (width, width), (width, height)))
        if self.result == "wrong-size":
            return ScoreMap(np.ones((1, 1)), BlockGrid(8, (8, 8), (8, 8)))
        raise KeyError("missing weights")


def scorer_class(result):
    return type(f"Garbage{result}", (GarbageScorer,), {"name": f"garbage-{result}", "result": result})


plugin_module = types.ModuleType("acme_pgp_plugin")


@hookimpl
def register_codecs(register):
    for behaviour in ("raise", "none", "empty", "hang"):
        register(f"bad-{behaviour}", codec_class(behaviour))
    register("bad-type", NotAnEncodedImage)


@hookimpl
def register_scorers(register):
    for result in ("string", "nan", "wrong-size", "raise"):
        register(f"garbage-{result}", scorer_class(result))


plugin_module.register_codecs = register_codecs
plugin_module.register_scorers = register_scorers


@pytest.fixture(scope="module")
def registry():
    import sys

    sys.modules["acme_pgp_plugin"] = plugin_module
    eps = [
        *__import__("importlib.metadata").metadata.entry_points(group="pgpcodec"),
        EntryPoint("acme", "acme_pgp_plugin", "pgpcodec"),
        EntryPoint("broken_acme", "acme_pgp_does_not_exist.sub", "pgpcodec"),
    ]
    with pytest.warns(UserWarning, match="broken_acme"):
        yield PluginRegistry(eps)
    release.set()


@pytest.mark.parametrize(
    "codec,fragment",
    [
        ("bad-raise", "failed: RuntimeError: segfault imminent"),
        ("bad-none", "returned NoneType, not a non-empty bitstream"),
        ("bad-empty", "returned empty bytes"),
        ("bad-type", "returned dict, not an EncodedImage"),
    ],
)
def test_bad_codec_errors_name_the_plugin(registry, codec, fragment):
    pipeline = Pipeline(scorer="uniform", codec=codec, prompt_processor="none", registry=registry)
    with pytest.raises(PluginError) as raised:
        pipeline.encode(gradient(32, 32), "x", quality=50)
    message = raised.value.message
    assert f"codec {codec!r}" in message and "plugin 'acme'" in message and fragment in message


def test_decoder_exception_names_the_plugin(registry):
    pipeline = Pipeline(scorer="uniform", codec="bad-raise", prompt_processor="none", registry=registry)
    with pytest.raises(PluginError, match=r"codec 'bad-raise' \(plugin 'acme'\) failed: ZeroDivisionError"):
        pipeline.decode(b"abc")


@pytest.mark.parametrize(
    "scorer,fragment",
    [
        ("garbage-string", "returned str, not a ScoreMap"),
        ("garbage-nan", "non-finite scores"),
        ("garbage-wrong-size", "score map for a (8, 8) image"),
        ("garbage-raise", "failed: KeyError"),
    ],
)
def test_bad_scorer_errors_name_the_plugin(registry, scorer, fragment):
    pipeline = Pipeline(scorer=scorer, codec="jpeg", prompt_processor="none", registry=registry)
    with pytest.raises(PluginError) as raised:
        pipeline.encode(gradient(32, 32), "x")
    assert f"scorer {scorer!r} (plugin 'acme')" in raised.value.message and fragment in raised.value.message


def test_hanging_codec_times_out_with_the_plugin_named(registry):
    pipeline = Pipeline(scorer="uniform", codec="bad-hang", prompt_processor="none", registry=registry, plugin_timeout=0.5)
    start = time.perf_counter()
    with pytest.raises(PluginError, match=r"codec 'bad-hang' \(plugin 'acme'\) did not finish within 0.5 s"):
        pipeline.encode(gradient(32, 32), "x", quality=50)
    assert time.perf_counter() - start < 10
    # A well-behaved plugin is unaffected by the deadline.
    fine = Pipeline(scorer="uniform", codec="jpeg", prompt_processor="none", registry=registry, plugin_timeout=30)
    assert fine.encode(gradient(32, 32), "x", quality=50).data[:2] == b"\xff\xd8"


def test_broken_entry_point_is_listed_as_broken_and_the_rest_work(registry):
    broken = {info.name: info for info in registry.broken()}
    assert "broken_acme" in broken and "import failed" in broken["broken_acme"].error
    assert "ModuleNotFoundError" in broken["broken_acme"].error
    assert "bad-raise" in registry.names("codec") and "jpeg" in registry.names("codec")


def test_deliberate_pgpcodec_errors_pass_through_unchanged():
    ref = PluginRef("scorer", "regions", "basic_scorers")

    def refuse():
        raise InputError("the regions scorer needs at least one region")

    with pytest.raises(InputError, match="^the regions scorer needs"):
        call_plugin(ref, refuse)
    with pytest.raises(InputError):
        call_plugin(ref, refuse, timeout=5)
    assert call_plugin(ref, lambda a, b=0: a + b, 2, b=3, timeout=5) == 5


def test_codec_encode_rejects_non_bytes_with_a_plugin_error():
    with pytest.raises(PluginError, match="codec 'bad-none' returned NoneType"):
        codec_class("none")().encode(gradient(8, 8), 50)
    assert isinstance(codec_class("fine")().encode(gradient(8, 8), 50), EncodedImage)


@pytest.mark.parametrize("mode", [[], ["--no-prefilter"]])
def test_cli_plugin_timeout_gives_one_clear_line(mode, registry, monkeypatch, tmp_path, capsys):
    from hostile_files import png_bytes

    from pgpcodec.cli import main

    monkeypatch.setattr("pgpcodec.pipeline.get_registry", lambda: registry)
    monkeypatch.setattr("pgpcodec.plugins.get_registry", lambda: registry)
    image = tmp_path / "in.png"
    image.write_bytes(png_bytes())
    args = ["encode", str(image), "--codec", "bad-hang", "--scorer", "uniform", "--prompt-processor", "none"]
    with pytest.raises(SystemExit) as exited:
        main([*args, *mode, "--plugin-timeout", "0.5", "-o", str(tmp_path / "out.bad")])
    err = capsys.readouterr().err
    assert exited.value.code == 1 and "Traceback" not in err
    assert "codec 'bad-hang' (plugin 'acme') did not finish within 0.5 s" in " ".join(err.split())
    assert not (tmp_path / "out.bad").exists()


def test_cli_decode_names_a_failing_plugin(registry, monkeypatch, tmp_path, capsys):
    from pgpcodec.cli import main

    monkeypatch.setattr("pgpcodec.plugins.get_registry", lambda: registry)
    stream = tmp_path / "in.bad"
    stream.write_bytes(b"\x00\x01\x02")
    with pytest.raises(SystemExit) as exited:
        main(["decode", str(stream), "--codec", "bad-raise", "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err
    assert exited.value.code == 1 and "Traceback" not in err and "internal error" not in err
    assert "codec 'bad-raise' (plugin 'acme') failed: ZeroDivisionError" in " ".join(err.split())
