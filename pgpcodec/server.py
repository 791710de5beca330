"""``pgpcodec serve``: a small HTTP sidecar for upload services not written in Python.

Starlette on uvicorn (the optional ``serve`` extra). The scorer (and its
model) is loaded once at start-up; each request may choose a registered
codec, its quality and the filter settings. Encodes run in a bounded thread
pool; every limit answers with a JSON error and the right status code::

    POST /v1/encode   multipart: image (file), prompt, codec, quality, prefilter,
                      regions, profile, sigma_map, sigma_max, sigma_one, logit_scale, fit, format
    GET  /healthz
    GET  /v1/plugins

See docs/embedding.md for the API, the limits and the threat model.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import functools
import json
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .cancel import CancelToken, cancellable
from .defaults import DEFAULT_CODEC, DEFAULT_PROMPT_PROCESSOR, DEFAULT_SCORER
from .errors import (
    CodecError,
    InputError,
    MissingResourceError,
    ModelNotFoundError,
    PgpcodecError,
    PluginError,
    RateTargetError,
    SettingError,
    UsageError,
)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_PROMPT_CHARS = 20_000
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_QUEUE = 64
DEFAULT_MAX_REGIONS = 100
CONNECTION_HEADROOM = 16
SETTING_FIELDS = ("profile", "sigma_map", "sigma_max", "sigma_one", "logit_scale")
NUMBER_SETTINGS = ("sigma_max", "sigma_one", "logit_scale")
"""Unset settings take PrefilterSettings' defaults."""


def default_concurrency() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ServerConfig:
    """What the sidecar serves and its limits (defaults in docs/embedding.md)."""

    scorer: str = DEFAULT_SCORER
    codec: str = DEFAULT_CODEC
    prompt_processor: str = DEFAULT_PROMPT_PROCESSOR
    scorer_options: dict = field(default_factory=dict)
    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest request body accepted (413 beyond)."""
    max_pixels: int = DEFAULT_MAX_PIXELS
    """Largest decoded image (400 beyond), checked from the header before decoding."""
    max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS
    max_concurrency: int = field(default_factory=default_concurrency)
    """Encodes running at once; each is one worker thread."""
    max_queue: int = DEFAULT_MAX_QUEUE
    """Requests waiting for a worker before 503."""
    timeout: float = DEFAULT_TIMEOUT
    """Seconds a request may wait plus encode before 503 (still queued) or 504 (encoding)."""
    max_regions: int = DEFAULT_MAX_REGIONS
    """Regions per request (422 beyond), counted before any is parsed: each costs a pass over the image."""

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_prompt_chars", "max_concurrency", "max_regions"):
            if getattr(self, name) < 1:
                raise SettingError(name, f"must be at least 1, got {getattr(self, name)}")
        if self.max_queue < 0:
            raise SettingError("max_queue", f"must be >= 0, got {self.max_queue}")
        if not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise SettingError("timeout", f"must be a positive number of seconds, got {self.timeout}")


class HttpError(Exception):
    """An error answered as JSON: ``{"error": {"type", "message", "hint"}}``, and ``parameter``, ``plugin`` when set.

    ``parameter`` is the form field to change (:data:`FORM_FIELDS` turns a library parameter into one).
    """

    def __init__(self, status: int, kind: str, message: str, hint: str | None = None, headers: dict | None = None, *,
                 parameter: str | None = None, plugin: str | None = None):
        super().__init__(message)
        self.status, self.kind, self.message, self.hint, self.headers = status, kind, message, hint, headers or {}
        self.parameter, self.plugin = parameter, plugin

    def payload(self) -> dict:
        error = {"type": self.kind, "message": self.message, "hint": self.hint}
        error.update({k: v for k, v in (("parameter", self.parameter), ("plugin", self.plugin)) if v is not None})
        return {"error": error}


FORM_FIELDS = {
    # library parameter (PgpcodecError.parameter) -> the form field that sets it, where the names differ;
    # None: no field sets it (the sidecar's own limits and the codec's options are the operator's)
    "max_pixels": None,
    "codec_options.timeout": None,
    "codec_options.pretrained": None,
}


ERROR_STATUS = (
    # (error class, status, type); the first match wins.
    (RateTargetError, 422, "bad_settings"),
    (UsageError, 422, "bad_settings"),
    (InputError, 400, "bad_input"),
    (PluginError, 500, "plugin_error"),
    (CodecError, 500, "codec_error"),
    (ModelNotFoundError, 503, "model_missing"),
    (MissingResourceError, 503, "resource_missing"),
)


def http_error_for(exc: PgpcodecError) -> HttpError:
    for cls, status, kind in ERROR_STATUS:
        if isinstance(exc, cls):
            break
    else:
        status, kind = 500, "error"
    return HttpError(status, kind, exc.message, exc.hint, parameter=FORM_FIELDS.get(exc.parameter, exc.parameter), plugin=exc.plugin)


class Encoder:
    """Pipelines on the process's loaded prefilters (:mod:`pgpcodec.loaded`: the scorer is loaded
    once) and the bounded pool that runs encodes."""

    def __init__(self, config: ServerConfig, registry=None):
        from .loaded import LOADED
        from .plugins import get_registry

        self.config = config
        self.registry = registry or get_registry()
        self.loaded = LOADED
        # The codec first: a mistyped codec is reported before a model is loaded (or found missing).
        self.codec = self.loaded.codec(config.codec, registry=self.registry)
        self.base = self.prefilter({})
        """The prefilter with the default settings, built (its model loaded) at start-up."""
        self._pool = ThreadPoolExecutor(max_workers=config.max_concurrency, thread_name_prefix="pgpcodec-encode")
        self._slots: asyncio.Semaphore | None = None
        self.waiting = 0
        self.running = 0

    def prefilter(self, settings: dict, fit=None):
        """The loaded prefilter for these filter settings and fit; the scorer is shared."""
        from .prefilter import PrefilterSettings

        config = self.config
        return self.loaded.prefilter(
            config.scorer, prompt_processor=config.prompt_processor, scorer_options=dict(config.scorer_options),
            settings=PrefilterSettings(**settings), fit=fit, registry=self.registry,
        )

    def pipeline(self, codec: str, settings: dict, fit=None):
        """The pipeline for a codec, filter settings and fit, on the loaded prefilter and codec."""
        from .pipeline import Pipeline

        return Pipeline(self.prefilter(settings, fit), self.loaded.codec(codec, registry=self.registry))

    async def run(self, job):
        """Run ``job()`` on a worker within the request deadline; 503 when saturated, 504 on timeout."""
        loop = asyncio.get_running_loop()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.max_concurrency)
        deadline = loop.time() + self.config.timeout
        busy = self._slots.locked()
        if busy and self.waiting >= self.config.max_queue:
            raise HttpError(503, "busy", "the server is at its concurrency and queue limits", "retry later", {"Retry-After": "1"})
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise HttpError(503, "busy", f"no worker became free within {self.config.timeout:g} s", "retry later", {"Retry-After": "1"}) from None
        finally:
            self.waiting -= 1
        self.running += 1
        token = CancelToken()

        def cancellable_job():
            with cancellable(token):
                return job()

        future = loop.run_in_executor(self._pool, cancellable_job)

        def release(done):
            # The slot is freed only when the work really ends: a timed-out
            # encode keeps its thread busy, and new work must not pile on top.
            self.running -= 1
            self._slots.release()
            if token.cancelled and not done.cancelled() and done.exception() is not None:
                free_abandoned_work(done.exception())

        future.add_done_callback(release)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=max(0.001, deadline - loop.time()))
        except asyncio.TimeoutError:
            token.cancel()  # the work stops at its next check (between tiles or stages) and frees its memory
            raise HttpError(504, "timeout", f"the encode did not finish within {self.config.timeout:g} s", "send a smaller image, or ask for the sidecar's timeout to be raised") from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def free_abandoned_work(error: BaseException) -> None:
    """Release what the work of an abandoned request still holds, once it has stopped.

    Its exception's traceback keeps every frame's locals (the image, its
    float copies) alive in a reference cycle until the garbage collector
    runs; clearing the frames frees them now. Then glibc is asked to give
    the freed heap back to the system (``malloc_trim``), where there is one.
    """
    import traceback

    traceback.clear_frames(error.__traceback__)
    error.__traceback__ = None
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


async def read_body(request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise HttpError(400, "bad_request", "Content-Length is not a number") from None
        if size > limit:
            raise HttpError(413, "too_large", f"the request has {size:,} bytes, over the limit of {limit:,}", "send a smaller image")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise HttpError(413, "too_large", f"the request passed the limit of {limit:,} bytes", "send a smaller image")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_form(request, body: bytes, limit: int):
    """Parse a multipart body already read into memory."""
    content_type = request.headers.get("content-type", "")
    if not content_type.strip().lower().startswith("multipart/form-data"):  # media types are case-insensitive
        raise HttpError(415, "unsupported_media_type", f"expected multipart/form-data, got {content_type or 'no content type'!r}", "send the image as a multipart file field named 'image'")
    try:
        parser = _strict_parser_class()(request.headers, replay_stream(body), max_files=1, max_fields=32, max_part_size=limit)
        form = await parser.parse()
    except Exception as exc:  # python-multipart raises several types for malformed bodies
        detail = getattr(exc, "detail", None) or getattr(exc, "message", None) or str(exc) or type(exc).__name__
        raise HttpError(400, "bad_request", f"malformed multipart body: {detail}") from None
    if parser.undecodable:
        name = parser.undecodable[0]
        raise HttpError(400, "bad_input", f"the {name} field is not valid UTF-8 text", f"send the {name} as UTF-8", parameter=name)
    return form


async def replay_stream(body: bytes):
    yield body


@functools.cache
def _strict_parser_class():
    from starlette.formparsers import MultiPartParser

    class StrictMultiPartParser(MultiPartParser):
        """Starlette's parser, noting the text fields that are not valid in their charset.

        Starlette falls back to Latin-1 for those, which would turn invalid
        UTF-8 into a different prompt instead of the caller's error.
        """

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.undecodable: list[str] = []

        def on_part_end(self) -> None:
            part = self._current_part
            if part.file is None:
                try:
                    bytes(part.data).decode(self._charset)
                except (UnicodeDecodeError, LookupError):
                    self.undecodable.append(part.field_name)
            super().on_part_end()

    return StrictMultiPartParser


def _number(form, name: str, cast=float):
    value = form.get(name)
    if value is None or str(value).strip() == "":
        return None
    try:
        number = cast(str(value))
    except ValueError:
        raise HttpError(422, "bad_settings", f"{name} {value!r} is not a number", parameter=name) from None
    if isinstance(number, float) and not math.isfinite(number):
        raise HttpError(422, "bad_settings", f"{name} must be finite, got {value!r}", parameter=name)
    return number


def _flag(form, name: str, default: bool) -> bool:
    value = form.get(name)
    if value is None or str(value).strip() == "":
        return default
    from .codec_options import parse_bool

    try:
        return parse_bool(value, name)
    except UsageError as exc:
        raise HttpError(422, "bad_settings", exc.message, parameter=name) from None


def _regions(form, limit: int) -> tuple[tuple[int, int, int, int], ...]:
    """The ``regions`` field by the library's parser: a bad one, or more than ``limit``, is a 422."""
    from .regions import parse_regions

    return parse_regions(str(form.get("regions") or ""), limit=limit)


@dataclass(frozen=True)
class EncodeRequest:
    image: bytes
    prompt: str
    codec: str
    quality: float | None
    prefilter: bool
    regions: list
    settings: dict
    as_json: bool
    fit: object = None
    """The ``fit`` field as a :class:`pgpcodec.fit.FitRule` (None: not fitted)."""


async def encode_request(request, config: ServerConfig) -> EncodeRequest:
    body = await read_body(request, config.max_bytes)
    form = await parse_form(request, body, config.max_bytes)
    upload = form.get("image")
    if upload is None or isinstance(upload, str):
        raise HttpError(400, "bad_request", "no image: send the file in a multipart field named 'image'", parameter="image")
    image = await upload.read()
    if not image:
        raise HttpError(400, "bad_input", "the uploaded image is empty", parameter="image")
    prompt = str(form.get("prompt") or "")
    if len(prompt) > config.max_prompt_chars:
        raise HttpError(400, "bad_input", f"the prompt has {len(prompt):,} characters, over the limit of {config.max_prompt_chars:,}", parameter="prompt")
    settings = {}
    for name in SETTING_FIELDS:
        value = _number(form, name) if name in NUMBER_SETTINGS else (str(form.get(name) or "").strip() or None)
        if value is not None:
            settings[name] = value
    answer = str(form.get("format") or "binary").strip().lower()
    if answer not in ("binary", "json"):
        raise HttpError(422, "bad_settings", f"format must be 'binary' or 'json', got {answer!r}", parameter="format")
    return EncodeRequest(
        image=image,
        prompt=prompt,
        codec=str(form.get("codec") or config.codec).strip(),
        quality=_number(form, "quality"),
        prefilter=_flag(form, "prefilter", True),
        regions=_regions(form, config.max_regions),
        settings=settings,
        as_json=answer == "json" or "application/json" in request.headers.get("accept", ""),
        fit=_fit(form),
    )


def _fit(form):
    from .fit import resolve

    text = str(form.get("fit") or "").strip()
    return resolve(text) if text else None


def create_app(config: ServerConfig | None = None, *, registry=None):
    """The Starlette application; builds the scorer (loads the model) now, not on the first request."""
    from starlette.applications import Starlette
    from starlette.requests import ClientDisconnect
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from .imaging import load_image

    config = config or ServerConfig()
    encoder = Encoder(config, registry)

    def error_response(error: HttpError) -> JSONResponse:
        return JSONResponse(error.payload(), status_code=error.status, headers=error.headers)

    async def healthz(request):
        return JSONResponse(
            {
                "status": "ok",
                "scorer": encoder.base.scorer.name,
                "codec": encoder.codec.name,
                "running": encoder.running,
                "waiting": encoder.waiting,
                "max_concurrency": config.max_concurrency,
            }
        )

    async def plugins(request):
        registry_ = encoder.registry
        from .plugins import HOOKS

        return JSONResponse(
            {
                "plugins": [info.to_dict() for info in registry_.plugins()],
                "names": {kind: registry_.names(kind) for kind in HOOKS},
            }
        )

    async def encode(request):
        started = time.perf_counter()
        try:
            job = await encode_request(request, config)
            pipeline = encoder.pipeline(job.codec, job.settings, job.fit)

            def work():
                array, notes = load_image(job.image, limit=config.max_pixels)
                # the pipeline's prefilter fits the image to job.fit, regions and all
                result = pipeline.encode(array, job.prompt, quality=job.quality, regions=job.regions, prefilter=job.prefilter)
                return dataclasses.replace(result, notes=(*notes, *result.notes))

            result = await encoder.run(work)
        except ClientDisconnect:
            return Response(status_code=499)  # nobody is listening; uvicorn drops it
        except HttpError as error:
            return error_response(error)
        except PgpcodecError as exc:
            return error_response(http_error_for(exc))
        info = {**result.to_dict(), "seconds": time.perf_counter() - started}
        if job.as_json:
            return JSONResponse({**info, "data": base64.b64encode(result.data).decode("ascii")})
        headers = {
            "X-Pgpcodec-Codec": result.codec,
            "X-Pgpcodec-Quality": f"{result.quality:g}",
            "X-Pgpcodec-Width": str(result.width),
            "X-Pgpcodec-Height": str(result.height),
            "X-Pgpcodec-Original-Width": str(result.to_dict()["original_width"]),
            "X-Pgpcodec-Original-Height": str(result.to_dict()["original_height"]),
            "X-Pgpcodec-Bpp": f"{result.bpp:.6f}",
            # JSON with ensure_ascii: header values must be Latin-1, notes may hold any text.
            "X-Pgpcodec-Timings": json.dumps(dict(result.timings)),
            "X-Pgpcodec-Notes": json.dumps(list(result.notes)),
            "Content-Disposition": f'inline; filename="encoded{result.extension}"',
        }
        return Response(result.data, media_type=result.mime_type, headers=headers)

    async def not_found(request, exc):
        return error_response(HttpError(getattr(exc, "status_code", 404), "not_found", f"{request.method} {request.url.path}: no such endpoint"))

    async def internal(request, exc):
        return error_response(HttpError(500, "internal", f"internal error: {type(exc).__name__}"))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        encoder.close()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/v1/plugins", plugins, methods=["GET"]),
            Route("/v1/encode", encode, methods=["POST"]),
        ],
        exception_handlers={404: not_found, 405: not_found, Exception: internal},
        lifespan=lifespan,
    )
    app.state.encoder = encoder
    return app


def serve(config: ServerConfig, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info") -> None:
    """Run the sidecar until interrupted."""
    try:
        import uvicorn
    except ImportError:
        raise MissingResourceError("the sidecar needs the 'serve' extra", "pip install 'pgpcodec[serve]'") from None
    app = create_app(config)
    # Open connections (uploads still arriving included) are capped too: uvicorn answers 503 beyond
    # the workers, the queue and a little headroom for /healthz.
    connections = config.max_concurrency + config.max_queue + CONNECTION_HEADROOM
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_keep_alive=5, limit_concurrency=connections)
