"""Cooperative cancellation of an encode whose caller has stopped waiting.

Python cannot stop a thread, but pgpcodec's own long loops can stop
themselves: the filter checks between tiles (and between block rows in the
``reference`` profile) and the pipeline between stages. A caller runs work
inside :func:`cancellable` with a :class:`CancelToken`; once the token is
cancelled, the next check raises :class:`Cancelled`, the work's arrays are
released and its thread is free again. Plugin code (a scorer's model, a
codec's encoder) is not interrupted: it runs to its end, then the next
check stops the work.

The sidecar cancels a request's work when it answers 504.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Cancelled(Exception):
    """The work was cancelled: nobody is waiting for its result any more."""


class CancelToken:
    """Set once, from any thread; checked by the work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("the work was cancelled")


_current: contextvars.ContextVar[CancelToken | None] = contextvars.ContextVar("pgpcodec_cancel_token", default=None)


@contextmanager
def cancellable(token: CancelToken) -> Iterator[CancelToken]:
    """Run the block with ``token`` as this thread's current token."""
    reset = _current.set(token)
    try:
        yield token
    finally:
        _current.reset(reset)


def current_token() -> CancelToken | None:
    """The token of the work running in this thread, if any (capture it before handing work to other threads)."""
    return _current.get()


def check_cancelled() -> None:
    """Raise :class:`Cancelled` if this thread's work has been cancelled."""
    token = _current.get()
    if token is not None:
        token.check()
