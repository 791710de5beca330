"""Progress bars for long operations: the library reports, the CLI draws.

Library code never prints. Functions that can run for more than a couple of
seconds take a ``progress`` callback, ``progress(task, done, total)`` (see
:data:`pgpcodec.interfaces.Progress`); codecs have a ``progress`` attribute.
This module turns those calls into rich bars with elapsed time and ETA on
stderr: only when stderr is a terminal or ``--progress`` was given, so
``--json`` output on stdout and piped stderr stay clean.
"""

from __future__ import annotations

import contextlib
import threading

import click

PROGRESS_OPTION = click.option(
    "--progress/--no-progress", "show_progress", default=None,
    help="Progress bars with ETA on stderr (default: when stderr is a terminal).",
)


def wanted(show_progress: bool | None, console) -> bool:
    return console.is_terminal if show_progress is None else show_progress


class Bars:
    """A ``progress(task, done, total)`` callback drawing one rich bar per task name."""

    def __init__(self, progress):
        self.progress = progress
        self._tasks: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, task: str, done: int, total: int) -> None:
        with self._lock:
            if task not in self._tasks:
                self._tasks[task] = self.progress.add_task(task, total=total)
            self.progress.update(self._tasks[task], completed=done, total=total)
            if done >= total:
                self.progress.remove_task(self._tasks.pop(task))


def columns():
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn())


@contextlib.contextmanager
def progress_bars(show_progress: bool | None):
    """Yield a progress callback (or None when no bars are wanted) for the ``with`` block."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True, force_terminal=True if show_progress else None)  # asked for: drawn even into a pipe
    if not wanted(show_progress, console):
        yield None
        return
    with Progress(*columns(), console=console, transient=True) as progress:
        yield Bars(progress)
