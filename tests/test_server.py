"""The HTTP sidecar, tested through a real uvicorn server on a loopback port."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import socket
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hostile_files import png_bytes, png_header_only

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")

from pgpcodec.server import ServerConfig, create_app  # noqa: E402

HOST = "127.0.0.1"


@contextlib.contextmanager
def running_server(config: ServerConfig, registry=None):
    app = create_app(config, registry=registry)
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    app.state.port = port
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(10)


def multipart(fields: dict, image: bytes | None, filename: str = "photo.png") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    if image is not None:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        parts.append(head.encode() + image + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def request(port, method, path, body=b"", headers=None, timeout=60):
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def encode(port, fields=None, image=None, **kwargs):
    body, content_type = multipart({"prompt": "what is this?", **(fields or {})}, png_bytes() if image is None else image)
    return request(port, "POST", "/v1/encode", body, {"Content-Type": content_type}, **kwargs)


def error_type(body: bytes) -> str:
    return json.loads(body)["error"]["type"]


def healthy(port) -> bool:
    status, _, body = request(port, "GET", "/healthz")
    return status == 200 and json.loads(body)["status"] == "ok"


CONFIG = ServerConfig(scorer="uniform", prompt_processor="none", max_bytes=200_000, max_pixels=1_000_000, max_concurrency=2, timeout=30)


@pytest.fixture(scope="module")
def port():
    with running_server(CONFIG) as app:
        yield app.state.port


def test_healthz_and_plugins(port):
    assert healthy(port)
    status, _, body = request(port, "GET", "/v1/plugins")
    listing = json.loads(body)
    assert status == 200 and "jpeg" in listing["names"]["codec"] and "uniform" in listing["names"]["scorer"]
    assert any(p["name"] == "pillow_codecs" for p in listing["plugins"])


def test_encode_returns_the_bitstream_with_metadata_headers(port):
    from PIL import Image

    status, headers, body = encode(port, {"codec": "webp", "quality": "40"})
    assert status == 200, body
    assert headers["content-type"] == "image/webp" and body[8:12] == b"WEBP"
    assert headers["x-pgpcodec-codec"] == "webp" and headers["x-pgpcodec-quality"] == "40"
    assert float(headers["x-pgpcodec-bpp"]) == pytest.approx(8 * len(body) / (96 * 64), rel=1e-4)
    assert set(json.loads(headers["x-pgpcodec-timings"])) >= {"prefilter", "encode"}
    assert Image.open(io.BytesIO(body)).size == (96, 64)


def test_the_scorer_is_loaded_once_and_shared(monkeypatch):
    from pgpcodec import loaded

    # a cache of its own: other tests in this process fill the process's one cache with prefilters of their own
    monkeypatch.setattr(loaded, "LOADED", loaded.Loaded())
    with running_server(CONFIG) as app:
        for codec in ("jpeg", "webp", "avif", "jpeg"):
            assert encode(app.state.port, {"codec": codec, "sigma_max": "4"})[0] == 200
        assert encode(app.state.port, {"codec": "jpeg", "sigma_max": "4", "logit_scale": "50"})[0] == 200
        encoder = app.state.encoder
        # one prefilter per filter setting (the codecs share them): default, sigma_max 4, and that with α 50
        cached = encoder.loaded.prefilters(encoder.registry)
        assert len(cached) == 3 and all(p.scorer is encoder.base.scorer for p in cached)  # a scorer without α is shared


def test_encode_as_json(port):
    import base64

    status, _, body = encode(port, {"format": "json", "prefilter": "false"})
    info = json.loads(body)
    assert status == 200 and info["codec"] == "jpeg" and info["width"] == 96
    assert base64.b64decode(info["data"])[:2] == b"\xff\xd8" and info["bytes"] == len(base64.b64decode(info["data"]))


@pytest.mark.parametrize(
    "fields,image,status,kind",
    [
        ({}, b"this is not an image", 400, "bad_input"),
        ({}, png_header_only(2000, 2000), 400, "bad_input"),  # over the 1 MP limit
        ({"codec": "nosuchcodec"}, None, 422, "bad_settings"),
        ({"quality": "500"}, None, 422, "bad_settings"),
        ({"quality": "nan"}, None, 422, "bad_settings"),
        ({"sigma_max": "-3"}, None, 422, "bad_settings"),
        ({"logit_scale": "0"}, None, 422, "bad_settings"),
        ({"logit_scale": "many"}, None, 422, "bad_settings"),
        ({"profile": "weird"}, None, 422, "bad_settings"),
        ({"regions": "1,2,3"}, None, 422, "bad_settings"),
        ({"prefilter": "maybe"}, None, 422, "bad_settings"),
        ({"prompt": "x" * 30_000}, None, 400, "bad_input"),
    ],
)
def test_bad_requests_get_json_errors_and_the_server_keeps_serving(port, fields, image, status, kind):
    got, headers, body = encode(port, fields, image)
    assert got == status, body
    assert headers["content-type"] == "application/json" and error_type(body) == kind
    assert json.loads(body)["error"]["message"]
    assert healthy(port)


def test_garbage_bodies(port):
    status, _, body = request(port, "POST", "/v1/encode", b"\x00\xff" * 100, {"Content-Type": "application/octet-stream"})
    assert status == 415 and error_type(body) == "unsupported_media_type"
    status, _, body = request(port, "POST", "/v1/encode", b"--nope\r\ngarbage", {"Content-Type": "multipart/form-data; boundary=zzz"})
    assert status == 400, body
    body_, content_type = multipart({"prompt": "x"}, None)
    status, _, body = request(port, "POST", "/v1/encode", body_, {"Content-Type": content_type})
    assert status == 400 and "image" in json.loads(body)["error"]["message"]
    status, _, body = request(port, "GET", "/v1/nothing")
    assert status == 404 and error_type(body) == "not_found"
    status, _, body = request(port, "GET", "/v1/encode")
    assert status == 405
    assert healthy(port)


def test_oversized_bodies_get_413(port):
    big = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    status, _, body = encode(port, image=big)
    assert status == 413 and error_type(body) == "too_large"
    # Without a Content-Length (chunked), the limit applies while reading.
    body_, content_type = multipart({"prompt": "x"}, big)
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    connection.putrequest("POST", "/v1/encode")
    connection.putheader("Content-Type", content_type)
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    try:
        for start in range(0, len(body_), 65536):
            chunk = body_[start : start + 65536]
            connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        connection.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may answer and close before the upload ends
    response = connection.getresponse()
    assert response.status == 413
    connection.close()
    assert healthy(port)


def test_client_disconnecting_mid_upload(port):
    body_, content_type = multipart({"prompt": "x"}, png_bytes())
    for _ in range(5):
        with socket.create_connection((HOST, port), timeout=10) as raw:
            head = f"POST /v1/encode HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body_)}\r\n\r\n"
            raw.sendall(head.encode() + body_[: len(body_) // 3])
    # Also one that goes away while its encode runs.
    with socket.create_connection((HOST, port), timeout=10) as raw:
        head = f"POST /v1/encode HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body_)}\r\n\r\n"
        raw.sendall(head.encode() + body_)
    assert healthy(port)
    status, _, _ = encode(port)
    assert status == 200


def test_load_300_requests_at_concurrency_16(port, capsys):
    image = png_bytes()

    def one(i):
        start = time.perf_counter()
        status, _, body = encode(port, {"quality": str(30 + i % 50)}, image)
        return status, time.perf_counter() - start, body

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(300)))
    wall = time.perf_counter() - started
    errors = [(status, body[:200]) for status, _, body in results if status != 200]
    latencies = sorted(seconds for _, seconds, _ in results)
    p50 = statistics.median(latencies)
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    with capsys.disabled():
        print(f"\nsidecar load: 300 requests, concurrency 16, {len(errors)} errors, p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, {300 / wall:.0f} req/s")
    assert errors == []
    assert all(body[:2] == b"\xff\xd8" for _, _, body in results)


def test_saturation_gives_503_and_a_slow_encode_gives_504():
    from importlib.metadata import entry_points

    from test_plugin_isolation import plugin_module, release

    import sys

    from pgpcodec.plugins import PluginRegistry

    sys.modules["acme_pgp_plugin"] = plugin_module
    from importlib.metadata import EntryPoint

    registry = PluginRegistry([*entry_points(group="pgpcodec"), EntryPoint("acme", "acme_pgp_plugin", "pgpcodec")])
    config = ServerConfig(scorer="uniform", prompt_processor="none", max_concurrency=1, max_queue=0, timeout=1.0)
    release.clear()
    try:
        with running_server(config, registry) as app:
            port_ = app.state.port
            with ThreadPoolExecutor(max_workers=2) as pool:
                slow = pool.submit(encode, port_, {"codec": "bad-hang"})
                time.sleep(0.3)
                busy_status, busy_headers, busy_body = encode(port_)
                status, _, body = slow.result(30)
            assert status == 504 and error_type(body) == "timeout"
            assert busy_status == 503 and error_type(busy_body) == "busy" and busy_headers.get("retry-after") == "1"
            release.set()  # the abandoned encode ends, its worker comes back
            time.sleep(0.2)
            assert encode(port_)[0] == 200
            status, _, body = encode(port_, {"codec": "bad-raise"})
            assert status == 500 and error_type(body) == "plugin_error" and "acme" in json.loads(body)["error"]["message"]
    finally:
        release.set()


def test_only_loopback_without_allow_public(capsys):
    from pgpcodec.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["serve", "--host", "0.0.0.0", "--scorer", "uniform"])
    assert exited.value.code == 2 and "--allow-public" in capsys.readouterr().err


def test_mutated_uploads_get_a_result_or_a_4xx_never_a_500(port):
    from test_fuzz import load_fuzzer

    import random

    fuzzer = load_fuzzer()
    rng = random.Random(99)
    pool = fuzzer.seeds()
    statuses = []
    for _ in range(60):
        status, _, body = encode(port, image=fuzzer.mutate(rng.choice(pool), rng, pool))
        statuses.append(status)
        assert status == 200 or (400 <= status < 500 and error_type(body) in ("bad_input", "bad_request")), (status, body[:300])
    assert 200 in statuses and any(400 <= s < 500 for s in statuses)
    assert healthy(port)


def test_fit_setting_downsizes_and_reports_both_sizes(port):
    status, headers, body = encode(port, {"fit": "max-side:48", "prefilter": "false"})
    assert status == 200, body
    assert (headers["x-pgpcodec-width"], headers["x-pgpcodec-original-width"]) == ("48", "96")
    status, _, body = encode(port, {"fit": "max-side:48", "regions": "0,0,48,32", "format": "json"})
    info = json.loads(body)
    assert status == 200 and (info["width"], info["original_width"], info["fit"]) == (48, 96, "max-side:48")
    status, _, body = encode(port, {"fit": "internvl3", "format": "json"})  # 448-px tiles would upscale 96x64
    assert status == 200 and any("would upscale" in note for note in json.loads(body)["notes"])


@pytest.mark.parametrize("fit", ["nosuchmodel", "max-side:0", "max-pixels:10"])
def test_bad_fit_setting_is_422(port, fit):
    status, _, body = encode(port, {"fit": fit})
    assert status == 422 and error_type(body) == "bad_settings"


def test_eps_upload_never_reaches_ghostscript(port, tmp_path, monkeypatch):
    """An EPS named .jpg is refused by the input-format allow-list; a fake `gs` on PATH records any call."""
    import os

    from PIL import EpsImagePlugin, Image

    folder = tmp_path / "bin"
    folder.mkdir()
    calls = tmp_path / "gs-calls"
    (folder / "gs").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$1" = --version ] && echo 10.02.1\nexit 0\n')
    (folder / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # Pillow caches its gs lookup
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(buffer, "EPS")
    status, _, body = encode(port, image=buffer.getvalue())
    assert not calls.exists(), calls.read_text()
    assert status == 400 and "accepted formats" in json.loads(body)["error"]["hint"]
