"""The openai evaluator against a real chat-completions server on loopback."""

import base64
import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest
from bench_helpers import run_cli
from loopback import LoopbackServer
from PIL import Image

from pgpcodec.bench.dataset import Row
from pgpcodec.bench.evaluators import EvaluatorError, Sample
from pgpcodec.errors import UsageError
from pgpcodec_evaluators.openai import OpenAIEvaluator

ANSWERS = {"red disc": "Yes, there is.", "corner": "The answer is (B).", "middle": "a square"}


class ChatServer(LoopbackServer):
    """A minimal OpenAI-compatible /v1/chat/completions server that records what it was sent."""

    def __init__(self, status: int = 200, answers: dict[str, str] = ANSWERS, delay: float = 0.0):
        """``answers``: the reply to a prompt that contains the key; ``delay`` seconds per request."""
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.in_flight = self.most_in_flight = 0
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                with lock:
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    self.answer()
                finally:
                    with lock:
                        server.in_flight -= 1

            def answer(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(delay)
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                if self.path != "/v1/chat/completions" or status != 200:
                    self.send_response(404 if status == 200 else status)
                    self.end_headers()
                    self.wfile.write(b'{"error": "nope"}')
                    return
                prompt = body["messages"][0]["content"][1]["text"]
                reply = next((text for key, text in answers.items() if key in prompt), "no idea")
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        super().__init__(Handler)
        self.url = self.base_url + "/v1"


def test_bench_asks_the_vlm_scores_replies_and_caches_them(tiny_manifest, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MY_VLM_KEY", "sekrit")
    out = tmp_path / "out"
    args = ["--dataset", str(tiny_manifest), "--codecs", "jpeg", "--qualities", "40,80", "--variants", "plain,downsample:2",
            "--evaluator", "openai", "--model", "tiny-vlm", "--api-key-env", "MY_VLM_KEY", "--concurrency", "3", "--out", str(out)]
    with ChatServer() as server:
        code, stdout, err = run_cli(capsys, "--endpoint", server.url, *args)
        assert code == 0, err
        assert len(server.requests) == 3 * 2 * 2
        first = server.requests[0]
        assert first["model"] == "tiny-vlm" and first["temperature"] == 0
        image_part, text_part = first["messages"][0]["content"]
        assert text_part["text"] in {json.loads(line)["prompt"] for line in tiny_manifest.read_text().splitlines()}
        url = image_part["image_url"]["url"]
        assert url.startswith("data:image/png;base64,")
        sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        assert sent.size in {(128, 96), (112, 80)}  # downsampled images are sent at the original size
        assert all(h.get("Authorization") == "Bearer sekrit" for h in server.headers)

        rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
        by_row = {}
        for r in rows:
            by_row.setdefault(r["row"], set()).add((r["prediction"], r["score"]))
        # yes/no and option letter answered right, the short answer ("a square" vs "Circle") wrong
        assert by_row["1:a"] == {("Yes", 1.0)} and by_row["2:a"] == {("B", 1.0)} and by_row["3:b"] == {("square", 0.0)}
        assert "accuracy" in stdout

        # a new run over the same images asks nothing: the replies are cached on disk
        code, _, err = run_cli(capsys, "--endpoint", server.url, *args[:-1], str(tmp_path / "again"),
                               "--reply-cache", str(out / "replies.jsonl"))
        assert code == 0, err
        assert len(server.requests) == 12


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint_names_the_row_and_the_endpoint(tiny_manifest, tmp_path, capsys):
    endpoint = f"http://127.0.0.1:{_free_port()}/v1"
    code, _, err = run_cli(capsys, "--dataset", str(tiny_manifest), "--codecs", "jpeg", "--qualities", "50", "--variants", "plain",
                           "--evaluator", "openai", "--endpoint", endpoint, "--model", "m", "--out", str(tmp_path / "o"))
    assert code == 1
    assert "row " in err and f"cannot reach endpoint {endpoint}/chat/completions" in err
    assert "start the VLM server" in err


SAMPLE = Sample(Row(id="r", image=None, prompt="Is it? Please answer yes or no.", answer="Yes"), np.zeros((8, 8, 3), np.uint8), {}, "plain", "jpeg", 50)


def test_http_errors_and_a_wrong_path_are_clear(tmp_path):
    with ChatServer(status=401) as server:
        evaluator = OpenAIEvaluator(endpoint=server.url, model="m", api_key_env="UNSET_KEY_VAR")
        with pytest.raises(EvaluatorError, match="HTTP 401") as caught:
            evaluator.evaluate(SAMPLE)
        assert "UNSET_KEY_VAR" in caught.value.hint
    with ChatServer() as server:
        evaluator = OpenAIEvaluator(endpoint=server.url.removesuffix("/v1"), model="m")
        with pytest.raises(EvaluatorError, match="HTTP 404"):
            evaluator.evaluate(SAMPLE)


def test_server_errors_are_retried_then_reported():
    with ChatServer(status=503) as server:
        evaluator = OpenAIEvaluator(endpoint=server.url, model="m", retries=1)
        with pytest.raises(EvaluatorError, match="HTTP 503"):
            evaluator.evaluate(SAMPLE)
        assert len(server.requests) == 2


def test_options_are_checked():
    with pytest.raises(UsageError, match="needs a model"):
        OpenAIEvaluator(endpoint="http://127.0.0.1:1/v1")
    with pytest.raises(UsageError, match="not an http"):
        OpenAIEvaluator(endpoint="127.0.0.1:1", model="m")
    with pytest.raises(EvaluatorError, match="no 'answer'"):
        OpenAIEvaluator(endpoint="http://127.0.0.1:1/v1", model="m").evaluate(
            Sample(Row(id="r", image=None, prompt="What?"), SAMPLE.decoded, {}, "plain", "jpeg", 50))


def test_rows_without_answers_are_refused_before_anything_runs(tmp_path, capsys):
    from bench_helpers import write_manifest

    from pgpcodec.testing.samples import sample_image

    Image.fromarray(sample_image(32, 32, 7)).save(tmp_path / "p.png")
    manifest = write_manifest(tmp_path / "m.jsonl", [{"image": "p.png", "prompt": "What?", "answer": "x"}, {"image": "p.png", "prompt": "Why?"}])
    code, _, err = run_cli(capsys, "--dataset", str(manifest), "--codecs", "jpeg", "--variants", "plain", "--evaluator", "openai",
                           "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--out", str(tmp_path / "o"))
    assert code == 1 and "row 2 (2:p): has no 'answer'" in err
