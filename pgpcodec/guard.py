"""Calling plugin code so that whatever goes wrong names the plugin.

A third-party codec or scorer may raise, return something malformed, or
never return. :func:`call_plugin` turns each of these into a
:class:`~pgpcodec.errors.PluginError` whose message names the plugin, so
a batch or a server reports one clear line and carries on.

Timeouts: Python cannot kill a thread. With a timeout the plugin call runs
in a daemon worker thread; when the deadline passes the caller gets a
``PluginError`` at once, and the worker is abandoned: it keeps its CPU and
memory until the plugin returns by itself (or the process exits). Code that
must be able to *stop* an untrusted plugin has to run it in a separate
process (docs/embedding.md, threat model).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import PgpcodecError, PluginError
from .plugins import _one_line


@dataclass(frozen=True)
class PluginRef:
    """Which plugin a scorer, codec, prompt processor or sigma map came from."""

    kind: str
    name: str
    plugin: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name!r} (plugin {self.plugin!r})"


def _run(ref: PluginRef, function: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    try:
        return function(*args, **kwargs)
    except PluginError as exc:
        if exc.plugin == ref.plugin:
            raise  # already named this plugin (a guarded call inside a guarded call)
        raise PluginError(f"{ref.label}: {exc.message}", exc.hint, plugin=ref.plugin, parameter=exc.parameter, row=exc.row) from exc
    except PgpcodecError as exc:
        raise exc.add_context(plugin=ref.plugin)  # a deliberate, already clear error (bad region, undecodable bitstream, …)
    except Exception as exc:
        raise PluginError(f"{ref.label} failed: {_one_line(exc)}", "report it to the plugin's authors", plugin=ref.plugin) from exc


_threads: set[threading.Thread] = set()
"""Plugin threads of timed calls that are still running (finished ones remove themselves)."""
_threads_lock = threading.Lock()


def wait_for_plugin_threads(timeout: float) -> bool:
    """Give running plugin threads up to ``timeout`` seconds to finish (their clean-up included); True if all did.

    They are daemon threads: at exit they would be stopped wherever they are,
    leaving a codec's temporary folder behind. Called on the way out, after
    their programs were killed, so that they end promptly.
    """
    deadline = time.monotonic() + timeout
    with _threads_lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(thread.is_alive() for thread in threads)


def call_plugin(ref: PluginRef, function: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, with every failure turned into a PluginError naming ``ref``.

    ``timeout`` (seconds) bounds the wait; see the module note on what
    happens to the abandoned thread.
    """
    if timeout is None:
        return _run(ref, function, args, kwargs)
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def worker() -> None:
        try:
            outcome["value"] = _run(ref, function, args, kwargs)
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc
        finally:
            finished.set()
            with _threads_lock:
                _threads.discard(threading.current_thread())

    thread = threading.Thread(target=worker, name=f"pgpcodec {ref.label}", daemon=True)
    with _threads_lock:
        _threads.add(thread)
    thread.start()
    if not finished.wait(timeout):
        raise PluginError(
            f"{ref.label} did not finish within {timeout:g} s",
            "the plugin may hang on this input; its thread is abandoned, not stopped",
            plugin=ref.plugin,
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def malformed(ref: PluginRef, what: str) -> PluginError:
    """The error for a plugin that returned something it must not."""
    return PluginError(f"{ref.label} returned {what}", "report it to the plugin's authors", plugin=ref.plugin)
