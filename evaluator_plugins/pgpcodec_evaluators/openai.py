"""The ``openai`` evaluator: asks a VLM behind any OpenAI-compatible chat-completions
endpoint (vLLM, Ollama, LM Studio) and scores its reply against the answer
(1 correct, 0 wrong); the mean is the accuracy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from pgpcodec.bench.dataset import Row
from pgpcodec.bench.evaluators import Evaluator, EvaluatorError, Sample
from pgpcodec.bench.jsonl_store import JsonlStore
from pgpcodec.errors import UsageError

from .matching import match_reply


def png_data_url(image: np.ndarray) -> str:
    from pgpcodec.imaging import png_bytes

    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def image_digest(image: np.ndarray) -> str:
    digest = hashlib.sha256(f"{image.shape}|{image.dtype}".encode())
    digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


class ReplyCache:
    """Replies already received, kept in an append-only JSON-lines file (a :class:`JsonlStore`)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._store = JsonlStore(path) if path else None
        self._lock = threading.Lock()
        # a line cut short by a crash is skipped: that reply is asked again
        entries = self._store.load(_reply_key) if self._store else {}
        self._replies: dict[str, str] = {key: entry["reply"] for key, entry in entries.items()}

    @staticmethod
    def key(model: str, image_hash: str, prompt: str) -> str:
        return hashlib.sha256(json.dumps([model, image_hash, prompt]).encode()).hexdigest()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._replies.get(key)

    def put(self, key: str, reply: str, **context) -> None:
        with self._lock:
            self._replies[key] = reply
            if self._store:
                self._store.append({"key": key, "reply": reply, **context})


def _reply_key(entry: dict) -> str:
    """An entry's key; one without a ``reply`` raises KeyError, so it is skipped like a torn line."""
    if "reply" not in entry:
        raise KeyError("reply")
    return entry["key"]


class OpenAIEvaluator(Evaluator):
    """Asks a VLM behind an OpenAI-compatible ``/chat/completions`` endpoint.

    The decoded image goes as a PNG data URL with the row's original
    prompt; the reply is matched against the row's answer (see
    :mod:`pgpcodec_evaluators.matching`). The API key is read from the
    environment variable named by ``api_key_env`` (none sent if unset).
    """

    name = "openai"
    keeps_replies = True
    metric = "accuracy"
    shared_limit = True

    def __init__(
        self,
        *,
        endpoint: str = "http://127.0.0.1:8000/v1",
        model: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 4,
        timeout: float = 120.0,
        max_tokens: int = 64,
        retries: int = 2,
        cache: str | os.PathLike | None = None,
    ):
        if not model:
            raise UsageError("the openai evaluator needs a model name", "give the model name the server knows", parameter="model")
        if not endpoint.startswith(("http://", "https://")):
            raise UsageError(f"endpoint {endpoint!r} is not an http(s) URL", "e.g. http://127.0.0.1:8000/v1", parameter="endpoint")
        if concurrency < 1:
            raise UsageError(f"concurrency must be at least 1, got {concurrency}")
        self.endpoint = endpoint.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.concurrency = int(concurrency)
        self.timeout = float(timeout)
        self.max_tokens = int(max_tokens)
        self.retries = int(retries)
        self.cache = ReplyCache(Path(cache) if cache else None)

    def settings(self) -> dict:
        return {"name": self.name, "endpoint": self.endpoint, "model": self.model, "max_tokens": self.max_tokens}

    def check(self, row: Row) -> None:
        if row.answer is None:
            raise EvaluatorError("has no 'answer', which the openai evaluator scores replies against")

    def evaluate(self, sample: Sample) -> dict:
        row = sample.row
        self.check(row)
        key = ReplyCache.key(self.model, image_digest(sample.decoded), row.prompt)
        reply = self.cache.get(key)
        cached = reply is not None
        if reply is None:
            reply = self.ask(sample.decoded, row.prompt)
            self.cache.put(key, reply, model=self.model, row=row.id)
        match = match_reply(reply, row.answer, row.kind, row.prompt)
        return {"score": float(match.correct), "reply": reply, "prediction": match.prediction, "cached": cached}

    def request_body(self, image: np.ndarray, prompt: str) -> dict:
        return {
            "model": self.model,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": png_data_url(image)}},
                        {"type": "text", "text": prompt},
                    ],
                }
            ],
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }

    def ask(self, image: np.ndarray, prompt: str) -> str:
        """One chat completion; retries 429 and 5xx answers, fails at once when nothing listens."""
        url = f"{self.endpoint}/chat/completions"
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body = json.dumps(self.request_body(image, prompt)).encode()
        attempt = 0
        while True:
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    payload = json.loads(response.read())
                return self._content(payload, url)
            except urllib.error.HTTPError as exc:
                detail = exc.read(300).decode("utf-8", "replace").strip()
                if (exc.code == 429 or exc.code >= 500) and attempt < self.retries:
                    time.sleep(0.5 * 2**attempt)
                    attempt += 1
                    continue
                hint = f"set {self.api_key_env} to the server's API key" if exc.code in (401, 403) else "check the endpoint and the model"
                raise EvaluatorError(f"endpoint {url} answered HTTP {exc.code}: {detail}", hint,
                                     parameter=None if exc.code in (401, 403) else "endpoint") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                raise EvaluatorError(
                    f"cannot reach endpoint {url} ({reason})",
                    "start the VLM server, or point the endpoint at it (an OpenAI-compatible /v1 base URL)",
                    parameter="endpoint",
                ) from None
            except json.JSONDecodeError:
                raise EvaluatorError(f"endpoint {url} did not answer JSON", "is it an OpenAI-compatible /v1 base URL?") from None

    @staticmethod
    def _content(payload, url: str) -> str:
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise EvaluatorError(f"endpoint {url} answered without choices[0].message.content") from None
        if isinstance(content, list):  # some servers answer in content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        return str(content or "")
