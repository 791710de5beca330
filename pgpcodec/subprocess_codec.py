"""Base class for codecs that run an external encoder/decoder program.

Every call gets its own :class:`tempfile.TemporaryDirectory` (removed
whatever happens), the program is started from an argument list (never a
shell), a timeout kills it and every process it started, and a failure raises :class:`CodecError` with
the end of the program's stderr in the message.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from .errors import CodecError, MissingResourceError, UsageError
from .interfaces import Codec

STDERR_TAIL_CHARS = 600
"""How much of a failing program's stderr goes into the error message."""


class SubprocessCodec(Codec):
    """A :class:`Codec` whose work is done by a program run per call.

    Subclasses implement ``_encode``/``decode`` with :meth:`workdir` and
    :meth:`run`, and set ``install_hint`` to the step that provides the
    program.
    """

    default_timeout: float = 300.0
    install_hint: str = ""

    def __init__(self, *, timeout: float | None = None):
        timeout = self.default_timeout if timeout is None else float(timeout)
        if not timeout > 0:
            raise UsageError(f"codec {self.name!r}: timeout must be > 0 seconds, got {timeout}")
        self.timeout = timeout

    @contextlib.contextmanager
    def workdir(self) -> Iterator[Path]:
        """A fresh temporary folder for one call's files."""
        with tempfile.TemporaryDirectory(prefix=f"pgpcodec-{self.name}-") as folder:
            yield Path(folder)

    def run(self, args: Sequence[str], *, what: str) -> subprocess.CompletedProcess:
        """Run ``args`` (program first); ``what`` names the step in errors ("encode", "decode")."""
        args = [str(a) for a in args]
        try:
            completed = run_killing_group(args, self.timeout)
        except FileNotFoundError:
            raise MissingResourceError(f"{self.name}: program {args[0]!r} not found", self.install_hint or None) from None
        except PermissionError:
            raise MissingResourceError(f"{self.name}: program {args[0]!r} is not executable", self.install_hint or None) from None
        except subprocess.TimeoutExpired:
            raise CodecError(
                f"{self.name}: {what} took longer than {self.timeout:g} s and was stopped",
                "raise the codec's timeout option, or use a faster setting",
                parameter="codec_options.timeout",
            ) from None
        if completed.returncode != 0:
            raise CodecError(
                f"{self.name}: {what} failed (exit code {completed.returncode}): {stderr_tail(completed.stderr)}",
                output=completed.stderr.decode("utf-8", "replace") if isinstance(completed.stderr, bytes) else completed.stderr,
            )
        return completed


_running: set[subprocess.Popen] = set()
"""Programs started by :func:`run_killing_group` that have not been reaped yet, from every thread."""
_running_lock = threading.Lock()


def _kill_group(process: subprocess.Popen) -> None:
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        process.kill()


def kill_running_programs() -> int:
    """Kill every program (with its process group) that a codec started and that still runs; how many.

    A signal unwinds only the main thread. A codec call running in a plugin
    thread (``--plugin-timeout``, or one abandoned after its timeout) would
    otherwise leave its program running after pgpcodec exits.
    """
    with _running_lock:
        processes = list(_running)
    for process in processes:
        _kill_group(process)
    return len(processes)


def run_killing_group(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    """``subprocess.run`` that, on timeout or interruption, kills the program *and everything it started*.

    ``subprocess.run`` kills only the direct child; a wrapper script's own
    children would live on (and may hold the output pipes open). The program
    gets its own process group (POSIX), and the whole group is killed.
    """
    posix = os.name == "posix"
    process = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=posix
    )
    with _running_lock:
        _running.add(process)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:  # the timeout, or Ctrl-C / an abandoned call: nothing may outlive us
        _kill_group(process)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=5)
        raise
    finally:
        with _running_lock:
            _running.discard(process)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def stderr_tail(stderr: bytes | str | None) -> str:
    """The last lines of a program's stderr, on one line, for an error message."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else (stderr or "")
    text = " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    if not text:
        return "no error output"
    return text if len(text) <= STDERR_TAIL_CHARS else "…" + text[-STDERR_TAIL_CHARS:]
