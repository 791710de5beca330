"""Outputs are atomic, inputs are never overwritten, existing outputs need --force, batches carry on."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hostile_files import gradient, png_bytes

from pgpcodec.errors import InputError, OutputError
from pgpcodec.imaging import write_atomic
from pgpcodec.pipeline import Pipeline
from pgpcodec.testing.plugin import invoke_cli

FAST = ["--scorer", "uniform", "--prompt-processor", "none"]



def test_write_atomic_leaves_no_temporary_file_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "out.jpg"

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OutputError, match="disk full"):
        write_atomic(target, b"data")
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_never_shows_a_partial_file(tmp_path):
    """Readers see the old content or the new, never a mix: the rename is the only visible step."""
    target = tmp_path / "out.bin"
    write_atomic(target, b"A" * 200_000)
    seen = set()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            data = target.read_bytes()
            seen.add((len(data), data.count(data[:1]) == len(data)))

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(30):
        write_atomic(target, (b"B" if i % 2 else b"A") * 200_000, force=True)
    stop.set()
    thread.join()
    assert seen == {(200_000, True)}  # every read saw one complete file
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_write_atomic_refuses_existing_files_without_force(tmp_path):
    target = tmp_path / "out.jpg"
    target.write_bytes(b"old")
    with pytest.raises(InputError, match="already exists") as raised:
        write_atomic(target, b"new")
    assert raised.value.parameter == "force" and "--" not in raised.value.hint  # the library names the parameter
    from pgpcodec.cli import flag_hint

    assert "--force" in flag_hint(raised.value)  # the CLI its flag
    assert target.read_bytes() == b"old"
    write_atomic(target, b"new", force=True)
    assert target.read_bytes() == b"new"


def test_output_must_not_be_the_input(tmp_path, capsys):
    image = tmp_path / "photo.jpg"
    image.write_bytes(png_bytes())
    before = image.read_bytes()
    for target in (str(image), str(tmp_path / "." / "photo.jpg")):
        code, _, err = invoke_cli(["encode", str(image), *FAST, "-o", target, "--force"], capsys)
        assert code != 0 and "overwrite the input" in err
    link = tmp_path / "link.jpg"
    link.symlink_to(image)
    code, _, err = invoke_cli(["encode", str(image), *FAST, "-o", str(link), "--force"], capsys)
    assert code != 0 and "overwrite the input" in err
    assert image.read_bytes() == before


def test_existing_output_needs_force(tmp_path, capsys):
    image = tmp_path / "photo.png"
    image.write_bytes(png_bytes())
    out = tmp_path / "photo.jpg"
    out.write_bytes(b"precious")
    code, _, err = invoke_cli(["encode", str(image), *FAST, "-o", str(out)], capsys)
    assert code == 1 and "already exists" in err and "--force" in err
    assert out.read_bytes() == b"precious"
    code, _, _ = invoke_cli(["encode", str(image), *FAST, "-o", str(out), "--force"], capsys)
    assert code == 0 and out.read_bytes()[:2] == b"\xff\xd8"


def test_batch_reports_the_failure_and_carries_on(tmp_path, capsys):
    names = ["a.png", "broken.png", "c.png"]
    for name in names:
        (tmp_path / name).write_bytes(b"garbage" if name == "broken.png" else png_bytes())
    code, _, err = invoke_cli(["encode", *(str(tmp_path / n) for n in names), *FAST, "-o", str(tmp_path / "out")], capsys)
    assert code == 1
    assert "broken.png" in err and err.count("error:") == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg", "c.jpg"]
    code, _, _ = invoke_cli(["encode", str(tmp_path / "a.png"), *FAST, "-o", str(tmp_path / "ok.jpg")], capsys)
    assert code == 0


def test_one_pipeline_shared_by_8_threads_matches_a_sequential_run():
    """200 encodes of a few different images from 8 threads give the sequential bytes, in any order."""
    pipeline = Pipeline(scorer="regions", codec="jpeg", prompt_processor="none")
    images = [gradient(64 + 8 * i, 48 + 4 * i) for i in range(5)]
    jobs = [(i % len(images), 30 + (i % 7) * 10) for i in range(200)]

    def encode(job):
        index, quality = job
        image = images[index]
        box = (2, 2, image.shape[1] // 2, image.shape[0] // 2)
        return pipeline.encode(image, "x", quality=quality, regions=[box]).data

    sequential = [encode(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(encode, jobs, timeout=300))
    assert concurrent == sequential
    assert len(set(sequential)) > 5  # the jobs really differ
