"""The one append-only JSONL store behind rows.jsonl and the reply cache survives a crash mid-line."""

from __future__ import annotations

import json
import threading

from pgpcodec_evaluators.openai import ReplyCache
from pgpcodec.bench.jsonl_store import JsonlStore
from pgpcodec.bench.runner import ResultLog


def _by_id(record: dict) -> int:
    return record["id"]


def _tear(path, record: dict) -> None:
    """Append ``record`` cut short, as a crash mid-write leaves it."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record)[:12])


def test_a_torn_last_line_is_skipped_and_the_next_append_is_kept(tmp_path):
    path = tmp_path / "store.jsonl"
    store = JsonlStore(path)
    store.append({"id": 1, "value": "a"})
    _tear(path, {"id": 2, "value": "b"})
    assert JsonlStore(path).load(_by_id) == {1: {"id": 1, "value": "a"}}
    JsonlStore(path).append({"id": 3, "value": "c"})
    assert JsonlStore(path).load(_by_id) == {1: {"id": 1, "value": "a"}, 3: {"id": 3, "value": "c"}}
    assert path.read_text().endswith('{"id": 3, "value": "c"}\n')


def test_lines_without_the_key_are_skipped_and_a_later_line_wins(tmp_path):
    path = tmp_path / "store.jsonl"
    path.write_text('{"id": 1, "v": 1}\n[1, 2]\n"text"\n{"other": 1}\n{"id": 1, "v": 2}\n')
    assert JsonlStore(path).load(_by_id) == {1: {"id": 1, "v": 2}}
    assert JsonlStore(tmp_path / "absent.jsonl").load(_by_id) == {}


def test_threads_appending_at_once_leave_whole_lines(tmp_path):
    path = tmp_path / "store.jsonl"
    store = JsonlStore(path)
    threads = [threading.Thread(target=lambda n=n: [store.append({"id": n * 100 + i, "pad": "x" * 500}) for i in range(20)])
               for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(path.read_text().splitlines()) == 160
    assert sorted(store.load(_by_id)) == sorted(n * 100 + i for n in range(8) for i in range(20))


def test_the_result_log_keeps_a_row_written_after_a_torn_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    row = {"variant": "plain", "codec": "jpeg", "quality": 50.0, "row": "r1", "score": 1.0}
    ResultLog(path).append(row)
    _tear(path, {**row, "row": "r2"})
    log = ResultLog(path)
    assert log.done("plain", "jpeg", 50, "r1") and not log.done("plain", "jpeg", 50, "r2")
    log.append({**row, "row": "r3"})
    reloaded = ResultLog(path)
    assert reloaded.done("plain", "jpeg", 50, "r3") and reloaded.done("plain", "jpeg", 50, "r1")
    assert not reloaded.done("plain", "jpeg", 50, "r2")


def test_the_reply_cache_keeps_a_reply_put_after_a_torn_line(tmp_path):
    path = tmp_path / "replies.jsonl"
    ReplyCache(path).put("k1", "yes", model="m")
    _tear(path, {"key": "k2", "reply": "no"})
    cache = ReplyCache(path)
    assert cache.get("k1") == "yes" and cache.get("k2") is None
    cache.put("k3", "blue", model="m")
    reloaded = ReplyCache(path)
    assert (reloaded.get("k1"), reloaded.get("k2"), reloaded.get("k3")) == ("yes", None, "blue")


def test_a_reply_cache_without_a_file_keeps_replies_in_memory(tmp_path):
    cache = ReplyCache(None)
    cache.put("k", "yes")
    assert cache.get("k") == "yes" and list(tmp_path.iterdir()) == []
