"""An append-only JSON-lines file: the bench's results (``rows.jsonl``) and the reply cache.

One JSON object per line, each appended, flushed and synced to disk before
:meth:`JsonlStore.append` returns, under a lock, so threads may append at
once. A crash can leave the last line cut short: :meth:`JsonlStore.load`
skips it (its record is computed again), and the next append first ends
that line, so the new record stands on a line of its own and is found on
the next load.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Hashable
from pathlib import Path


class JsonlStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def load(self, key: Callable[[dict], Hashable]) -> dict:
        """The records already in the file by ``key(record)``, a later line winning.

        A line that is not a JSON object, or whose ``key`` raises KeyError or
        TypeError (a field missing or of the wrong type), is skipped.
        """
        records: dict = {}
        if not self.path.exists():
            return records
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                    records[key(record)] = record
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut short by a crash
        return records

    def append(self, record: dict) -> None:
        data = (json.dumps(record) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab+") as handle:
                end = handle.seek(0, os.SEEK_END)
                if end:
                    handle.seek(end - 1)
                    if handle.read(1) != b"\n":
                        data = b"\n" + data  # end a line cut short, so this record is not glued to it
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
