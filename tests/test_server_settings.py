"""The sidecar and bad settings: every one a 422 (or a 400 for a bad prompt) with the JSON error
body, never a 500; the regions limit; media types in any case; notes; timed-out work cancelled."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
from hostile_files import png_bytes
from PIL import Image

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from test_server import encode, multipart, request, running_server  # noqa: E402

from pgpcodec.interfaces import Codec  # noqa: E402
from pgpcodec.server import DEFAULT_MAX_REGIONS, ServerConfig  # noqa: E402

CONFIG = ServerConfig(scorer="regions", prompt_processor="none", max_concurrency=1, timeout=30, max_regions=50)


@pytest.fixture(scope="module")
def port():
    with running_server(CONFIG) as app:
        yield app.state.port


def error_of(body: bytes) -> dict:
    payload = json.loads(body)
    assert set(payload["error"]) - {"parameter", "plugin"} == {"type", "message", "hint"}  # those two when set
    return payload["error"]


@pytest.mark.parametrize(
    "fields,words,parameter",
    [
        ({"regions": "inf,0,10,10"}, "not a finite number", "regions"),
        ({"regions": "[[1e999,0,10,10]]"}, "not a finite number", "regions"),
        ({"regions": "[[0,0,10]]"}, "not four numbers", "regions"),
        ({"regions": "[" * 100_000 + "]" * 100_000}, "nested too deeply", "regions"),
        ({"regions": ";".join(["0,0,4,4"] * 51)}, "51 regions, over the limit of 50", "regions"),
        ({"regions": "0,0,4,4", "sigma_max": "1e300"}, "sigma_max must be from 0 to 100", "sigma_max"),
        ({"regions": "0,0,4,4", "sigma_max": "100000"}, "sigma_max must be from 0 to 100", "sigma_max"),
        ({"regions": "0,0,4,4", "sigma_max": "1e999"}, "sigma_max must be finite", "sigma_max"),
        ({"regions": "0,0,4,4", "sigma_one": "-1"}, "sigma_one must be from 0", "sigma_one"),
        ({"regions": "0,0,4,4", "profile": "fancy"}, "not a filter profile", "profile"),
        ({"regions": "0,0,4,4", "quality": "1e300"}, "out of range", "quality"),
    ],
)
def test_bad_settings_are_422_with_the_json_error_body(port, fields, words, parameter):
    status, headers, body = encode(port, fields)
    assert status == 422, body[:300]
    error = error_of(body)
    assert error["type"] == "bad_settings" and words in error["message"]
    assert error["parameter"] == parameter  # the form field to change
    assert "--" not in (error["hint"] or "")  # HTTP callers have no flags
    assert headers["content-type"].startswith("application/json")


def test_the_default_regions_limit_is_documented_and_used():
    assert ServerConfig().max_regions == DEFAULT_MAX_REGIONS == 100
    text = open("docs/embedding.md", encoding="utf-8").read()
    assert "regions per request" in text and "`--max-regions`" in text


@pytest.mark.parametrize("prompt", ["\xff\xfe what".encode("latin-1"), "\ud800".encode("utf-8", "surrogatepass")])
def test_a_prompt_that_is_not_utf8_is_a_400(port, prompt):
    body, content_type = multipart({"regions": "0,0,4,4"}, png_bytes())
    boundary = content_type.split("boundary=")[1].encode()
    part = b"--" + boundary + b'\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n' + prompt + b"\r\n"
    status, _, answer = request(port, "POST", "/v1/encode", part + body, {"Content-Type": content_type})
    assert status == 400 and error_of(answer)["type"] == "bad_input" and "UTF-8" in error_of(answer)["message"]


@pytest.mark.parametrize("media_type", ["Multipart/Form-Data", "MULTIPART/FORM-DATA", "multipart/Form-data"])
def test_the_media_type_is_case_insensitive(port, media_type):
    body, content_type = multipart({"regions": "0,0,4,4"}, png_bytes())
    status, headers, answer = request(port, "POST", "/v1/encode", body, {"Content-Type": content_type.replace("multipart/form-data", media_type)})
    assert status == 200 and answer[:2] == b"\xff\xd8", answer[:200]


class RandomJpeg(Codec):
    """JPEG, claiming random weights: its RANDOM-INIT note must reach the answer."""

    name = "randomjpeg"
    extension = ".jpg"
    mime_type = "image/jpeg"
    random_weights = True

    def _encode(self, image, quality):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
        return buffer.getvalue()

    def decode(self, data):
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


class OnePlugin:
    from pgpcodec import hookimpl

    @staticmethod
    @hookimpl
    def register_codecs(register):
        register("randomjpeg", RandomJpeg)


def test_notes_reach_the_json_answer_and_the_header():
    from pgpcodec.plugins import PluginRegistry

    registry = PluginRegistry(modules=[OnePlugin])
    config = ServerConfig(scorer="regions", prompt_processor="none", codec="randomjpeg", max_concurrency=1, timeout=30)
    rgba = io.BytesIO()
    Image.new("RGBA", (40, 30), (10, 20, 30, 128)).save(rgba, format="PNG")
    with running_server(config, registry=registry) as app:
        status, headers, body = encode(app.state.port, {"regions": "0,0,4,4", "format": "json"}, image=rgba.getvalue())
        assert status == 200, body[:300]
        notes = json.loads(body)["notes"]
        assert any("codec randomjpeg has RANDOM-INIT weights" in note for note in notes)
        assert any("alpha" in note for note in notes)
        status, headers, _ = encode(app.state.port, {"regions": "0,0,4,4"}, image=rgba.getvalue())
        assert status == 200 and json.loads(headers["x-pgpcodec-notes"]) == notes


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20


def gradient_png(width: int, height: int) -> bytes:
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.skipif(not open("/proc/self/statm").read(), reason="needs /proc")
def test_a_timed_out_encode_is_cancelled_and_its_memory_freed():
    # A 12 MP image blurred at σ 100 everywhere: about 12 s of filter work here, and some
    # 300 MB of arrays. The request times out after 0.5 s; the work must stop soon after
    # (at its next tile) and give its memory back.
    config = ServerConfig(scorer="uniform", prompt_processor="none", max_concurrency=1, timeout=0.5, max_bytes=50_000_000)
    upload = gradient_png(4000, 3000)
    with running_server(config) as app:
        port = app.state.port
        assert encode(port, {"sigma_max": "2", "sigma_one": "2"}, image=gradient_png(64, 64))[0] == 200  # warm up
        baseline = rss_mib()
        status, _, body = encode(port, {"sigma_max": "100", "sigma_one": "100"}, image=upload)
        answered = time.monotonic()
        assert status == 504 and error_of(body)["type"] == "timeout"
        for _ in range(600):  # bounded: at most 60 s
            running = json.loads(request(port, "GET", "/healthz")[2])["running"]
            if not running:
                break
            time.sleep(0.1)
        stopped_after = time.monotonic() - answered
        assert running == 0, "the timed-out encode never ended"
        assert stopped_after < 4.0, f"the timed-out encode ran on for {stopped_after:.1f} s"
        grown = rss_mib() - baseline
        assert grown < 80, f"RSS still {grown:.0f} MiB above the baseline after the work stopped"
        assert encode(port, {"sigma_max": "2", "sigma_one": "2"}, image=gradient_png(64, 64))[0] == 200  # still serving
