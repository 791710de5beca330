"""SIGTERM and SIGHUP clean up as Ctrl-C does.

Python turns SIGINT into :class:`KeyboardInterrupt`, which unwinds the
stack: ``write_atomic`` removes its temporary file, a program run by a
:class:`~pgpcodec.subprocess_codec.SubprocessCodec` is killed with its whole
process group, and temporary folders are removed. SIGTERM and SIGHUP kill
the process outright by default, leaving all of these behind. While a
command runs, :func:`handle_termination` makes them raise
:class:`Terminated` (a ``KeyboardInterrupt``) in the main thread instead, so
the same clean-up runs; the command then exits with 128 + the signal number.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """A termination signal, raised where the main thread was, so that ``finally`` and ``except BaseException`` run."""

    def __init__(self, signum: int):
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum


received: list[int] = []
"""The signals caught during the current command (the first decides the exit code)."""


def _raise(signum, frame) -> None:
    received.append(signum)
    for other in SIGNALS:  # one clean-up at a time: a second signal must not interrupt the first one's clean-up
        signal.signal(other, signal.SIG_IGN)
    raise Terminated(signum)


@contextlib.contextmanager
def handle_termination() -> Iterator[None]:
    """Within the block (main thread only), SIGTERM and SIGHUP raise :class:`Terminated`; handlers restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received.clear()
    previous = {}
    for signum in SIGNALS:
        handler = signal.getsignal(signum)
        if handler is signal.SIG_IGN:  # nohup, or a parent that wants us to ignore it: keep ignoring
            continue
        previous[signum] = handler
        signal.signal(signum, _raise)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
