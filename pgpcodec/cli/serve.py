"""``pgpcodec serve``: the HTTP sidecar (needs the ``serve`` extra)."""

from __future__ import annotations

import ipaddress

import click

from ..defaults import DEFAULT_CODEC, DEFAULT_PROMPT_PROCESSOR, DEFAULT_SCORER
from ..errors import UsageError


def _check_host(host: str, allow_public: bool) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise UsageError(f"--host {host!r} is not an IP address") from None
    if not loopback and not allow_public:
        raise UsageError(
            f"--host {host} would accept connections from other machines",
            "the sidecar has no authentication; put it behind your gateway and pass --allow-public to bind it anyway",
        )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback unless --allow-public).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--allow-public", is_flag=True, help="Allow a non-loopback --host (there is no authentication).")
@click.option("--scorer", default=DEFAULT_SCORER, show_default=True, help="Scorer, loaded once at start-up.")
@click.option("--codec", default=DEFAULT_CODEC, show_default=True, help="Default codec; requests may pick any registered codec.")
@click.option("--prompt-processor", default=DEFAULT_PROMPT_PROCESSOR, show_default=True)
@click.option("--max-bytes", type=int, default=None, help="Largest request body in bytes [default: 20 MiB].")
@click.option("--max-pixels", type=int, default=None, help="Largest image in pixels [default: 40 MP].")
@click.option("--max-concurrency", type=int, default=None, help="Encodes at once [default: CPU count].")
@click.option("--max-queue", type=int, default=None, help="Requests waiting for a worker before 503 [default: 64].")
@click.option("--timeout", type=float, default=None, help="Seconds per request, waiting included [default: 60].")
@click.option("--max-regions", type=int, default=None, help="Regions per request, checked before any work [default: 100].")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info", show_default=True)
def serve(host, port, allow_public, scorer, codec, prompt_processor, max_bytes, max_pixels, max_concurrency, max_queue, timeout, max_regions, log_level):
    """Serve POST /v1/encode, GET /healthz and GET /v1/plugins over HTTP."""
    from ..server import ServerConfig, serve as run

    _check_host(host, allow_public)
    limits = {
        "max_bytes": max_bytes,
        "max_pixels": max_pixels,
        "max_concurrency": max_concurrency,
        "max_queue": max_queue,
        "timeout": timeout,
        "max_regions": max_regions,
    }
    config = ServerConfig(scorer=scorer, codec=codec, prompt_processor=prompt_processor, **{k: v for k, v in limits.items() if v is not None})
    run(config, host=host, port=port, log_level=log_level)
    return 0
