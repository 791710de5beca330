"""--executor dask: a LocalCluster of 2 worker processes gives the local executor's results, and survives a worker's death."""

import json
import os
import signal
import threading
import time
from dataclasses import replace

import pytest
from bench_helpers import dev_photo, run_cli, write_manifest
from test_bench_openai import ChatServer

from pgpcodec.bench.dataset import load_dataset
from pgpcodec.bench.runner import Bench, BenchConfig
from pgpcodec.plugins import get_registry

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    import dask

    # a killed worker's evaluator lease comes back after 2 s, not the default 30 s
    from pgpcodec.bench.dask_executor import local_cluster

    with dask.config.set({"distributed.scheduler.locks.lease-timeout": "2s", "distributed.scheduler.locks.lease-validation-interval": "0.5s"}):
        with local_cluster(2) as local:
            yield local


def executor(cluster) -> str:
    return "dask://" + cluster.scheduler_address.removeprefix("tcp://")


def comparable(out):
    """results.json and the rows, without timings and the executor's name."""
    summary = json.loads((out / "results.json").read_text())
    for key in ("seconds", "finished"):
        summary.pop(key)
    summary["settings"].pop("executor")
    rows = []
    for line in (out / "rows.jsonl").read_text().splitlines():
        record = json.loads(line)
        record.pop("seconds")
        rows.append(json.dumps(record, sort_keys=True))
    return json.dumps(summary, sort_keys=True), sorted(rows)


def test_dask_gives_the_local_results(tiny_manifest, tmp_path, cluster):
    config = BenchConfig(load_dataset(tiny_manifest), ["jpeg"], ["plain", "prefilter"], qualities={"jpeg": [30, 70]})
    Bench(config, tmp_path / "local", get_registry()).run()
    done = []
    with distributed.Client(cluster.scheduler_address) as client, distributed.get_task_stream(client) as stream:
        result = Bench(replace(config, executor=executor(cluster)), tmp_path / "dask", get_registry()).run(done.append)
    assert result.computed == 3 * 2 * 2 and sum(done) == 12
    # each photo's bytes travel in one decode task; the 3 prefilter units and 2 plain ones are prepared once each
    ran = [task["key"].split("-")[0] for task in stream.data]
    assert ran.count("decode_task") == 2 and ran.count("prepare_task") == 2 + 3 and ran.count("encode_task") == (2 + 3) * 2
    local, dask = comparable(tmp_path / "local"), comparable(tmp_path / "dask")
    assert dask[1] == local[1] and len(dask[1]) == 12
    assert dask[0] == local[0]
    assert json.loads((tmp_path / "dask" / "results.json").read_text())["settings"]["executor"].startswith("dask://")
    # a rerun on Dask resumes: nothing left to do
    again = Bench(replace(config, executor=executor(cluster)), tmp_path / "dask", get_registry()).run()
    assert again.computed == 0 and again.reused == 12


@pytest.fixture
def photo_manifest(tmp_path):
    rows = []
    for n, name in enumerate(["astronaut.png", "coffee.png", "camera.png", "chelsea.png", "rocket.jpg", "china.jpg"]):
        (tmp_path / f"p{n}.png").write_bytes(dev_photo(name, 64))
        rows.append({"image": f"p{n}.png", "prompt": f"Is there a thing {n}? Please answer yes or no.", "answer": "Yes" if n % 2 else "No"})
    return write_manifest(tmp_path / "photos.jsonl", rows)


def test_a_killed_worker_loses_nothing_and_no_row_is_written_twice(photo_manifest, tmp_path, cluster):
    answers = {f"thing {n}?": "Yes" for n in range(6)}
    config = BenchConfig(load_dataset(photo_manifest), ["jpeg"], ["plain", "gaussian:1"], qualities={"jpeg": [40, 80]},
                         evaluator="openai", executor=executor(cluster))
    total = 6 * 2 * 2
    with ChatServer(answers=answers, delay=0.15) as server:
        options = {"endpoint": server.url, "model": "m", "concurrency": 1}
        run = Bench(replace(config, evaluator_options=options), tmp_path / "dask", get_registry())
        outcome = []
        thread = threading.Thread(target=lambda: outcome.append(run.run()))
        thread.start()
        rows_file = tmp_path / "dask" / "rows.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (rows_file.exists() and len(rows_file.read_text().splitlines()) >= 4):
            time.sleep(0.05)
        written_before = len(rows_file.read_text().splitlines())
        assert written_before < total, "the run ended before a worker could be killed"
        with distributed.Client(cluster.scheduler_address) as client:
            pids = client.run(os.getpid)
            os.kill(next(iter(pids.values())), signal.SIGKILL)
        thread.join(timeout=180)
        assert not thread.is_alive() and outcome, "the run did not finish after a worker died"
        # --concurrency 1 held across both workers
        assert server.most_in_flight == 1

        local = Bench(replace(config, executor="local", evaluator_options=options), tmp_path / "local", get_registry())
        local.run()
    keys = [(r["variant"], r["quality"], r["row"]) for r in map(json.loads, rows_file.read_text().splitlines())]
    assert len(keys) == total and len(set(keys)) == total  # nothing lost, no row twice
    assert outcome[0].computed == total and not outcome[0].failures
    local_summary, local_rows = comparable(tmp_path / "local")
    dask_summary, dask_rows = comparable(tmp_path / "dask")
    strip = lambda rows: sorted(json.dumps({k: v for k, v in json.loads(r).items() if k != "cached"}, sort_keys=True) for r in rows)  # noqa: E731
    assert strip(dask_rows) == strip(local_rows) and dask_summary == local_summary


def test_unknown_executors_are_refused(tiny_manifest, tmp_path, capsys):
    code, _, err = run_cli(capsys, "--dataset", str(tiny_manifest), "--codecs", "jpeg", "--executor", "spark", "--out", str(tmp_path / "o"))
    assert code == 2 and "unknown executor 'spark'" in err and "dask://HOST:PORT" in err
