"""External encoders: argument lists, temp folders always removed, timeouts that kill, stderr, missing programs.

A fake ``ffmpeg`` (a shell script) stands in for the real one so the
failures are certain and fast; one test runs the real ffmpeg too.
"""

from __future__ import annotations

import stat
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hostile_files import gradient

from pgpcodec.errors import CodecError, MissingResourceError, PgpcodecError
from pgpcodec_codecs import vvenc

LISTING = 'case "$*" in *-encoders*) echo " V....D libvvenc  VVenC"; exit 0;; *-decoders*) echo " V....D vvc  VVC"; exit 0;; esac'


def fake_ffmpeg(folder: Path, body: str) -> str:
    """An executable that lists libvvenc/vvc support and then runs ``body`` (sh) for real calls."""
    path = folder / f"ffmpeg-{abs(hash(body)) % 10**8}"
    path.write_text(f"#!/bin/sh\n{LISTING}\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Point tempfile at an empty folder of our own, so leftovers can be counted exactly."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def all_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def test_200_failing_calls_leave_the_temp_folder_as_it_was(tmp_path, private_tmp):
    """The fake encoder leaves a partial output and fails; every call's temp folder still goes."""
    partial_output = 'for a in "$@"; do case "$a" in *.266|*.y4m) printf partial > "$a";; esac; done; echo "vvenc: out of cheese" >&2; exit 1'
    codec = vvenc.VvencCodec(ffmpeg=fake_ffmpeg(tmp_path, partial_output), timeout=30)
    image = gradient(24, 16)
    before = all_files(private_tmp)
    for i in range(200):
        with pytest.raises(CodecError, match="out of cheese"):
            if i % 2:
                codec.encode(image, 30)
            else:
                codec.decode(b"\x00\x00\x01" + bytes(32))
    assert all_files(private_tmp) == before == []


def test_an_exception_inside_the_call_still_removes_the_folder(tmp_path, private_tmp, monkeypatch):
    codec = vvenc.VvencCodec(ffmpeg=fake_ffmpeg(tmp_path, "exit 0"), timeout=30)

    def explode(*args, **kwargs):
        raise KeyboardInterrupt  # the harshest kind: not even an Exception

    monkeypatch.setattr(codec, "run", explode)
    with pytest.raises(KeyboardInterrupt):
        codec.encode(gradient(24, 16), 30)
    assert all_files(private_tmp) == []


def process_state(pid: int) -> str | None:
    """'R', 'S', 'Z', … from /proc, or None when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see the child")
def test_timeout_kills_the_child_and_its_children(tmp_path, private_tmp):
    pids = tmp_path / "pids"
    body = f'sleep 60 & echo $! >> {pids}; echo $$ >> {pids}; echo "still encoding" >&2; sleep 60'
    codec = vvenc.VvencCodec(ffmpeg=fake_ffmpeg(tmp_path, body), timeout=1.0)
    start = time.perf_counter()
    with pytest.raises(CodecError, match=r"longer than 1 s") as raised:
        codec.encode(gradient(24, 16), 30)
    assert time.perf_counter() - start < 15
    assert raised.value.hint
    deadline = time.monotonic() + 5
    alive = [int(p) for p in pids.read_text().split()]
    while time.monotonic() < deadline and any(process_state(p) not in (None, "Z") for p in alive):
        time.sleep(0.05)
    assert [process_state(p) for p in alive if process_state(p) not in (None, "Z")] == []
    assert all_files(private_tmp) == []


def test_stderr_is_surfaced_in_the_error(tmp_path):
    body = 'echo "[libvvenc @ 0x1] Unrecognized option qpa" >&2; echo "Error initializing output stream" >&2; exit 1'
    codec = vvenc.VvencCodec(ffmpeg=fake_ffmpeg(tmp_path, body), timeout=30)
    with pytest.raises(CodecError) as raised:
        codec.encode(gradient(24, 16), 30)
    assert "exit code 1" in raised.value.message
    assert "Unrecognized option qpa" in raised.value.message and "Error initializing output stream" in raised.value.message


def test_missing_binary_gives_a_clear_message(tmp_path, private_tmp):
    codec = vvenc.VvencCodec(ffmpeg=str(tmp_path / "no-such-ffmpeg"), timeout=30)
    with pytest.raises(MissingResourceError) as raised:
        codec.encode(gradient(24, 16), 30)
    assert "no-such-ffmpeg" in raised.value.message and raised.value.hint
    not_executable = tmp_path / "ffmpeg-not-executable"
    not_executable.write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(PgpcodecError):
        vvenc.VvencCodec(ffmpeg=str(not_executable), timeout=30).encode(gradient(24, 16), 30)
    assert all_files(private_tmp) == []


def test_arguments_are_a_list_never_a_shell(tmp_path, monkeypatch):
    """Paths full of shell metacharacters reach the program intact, as single argv entries."""
    seen = tmp_path / "argv"
    hostile = tmp_path / "tmp; touch pwned $(touch pwned2) `touch pwned3` | cat"
    hostile.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(hostile))
    monkeypatch.chdir(tmp_path)
    body = f'for a in "$@"; do printf "%s\\n" "$a" >> {seen}; done; exit 1'
    codec = vvenc.VvencCodec(ffmpeg=fake_ffmpeg(tmp_path, body), timeout=30)
    with pytest.raises(CodecError):
        codec.encode(gradient(24, 16), 30)
    argv = seen.read_text().splitlines()
    assert any(arg.startswith(str(hostile)) for arg in argv), argv
    assert not any((tmp_path / name).exists() for name in ("pwned", "pwned2", "pwned3"))
    assert list(hostile.iterdir()) == []


def test_real_ffmpeg_round_trip_leaves_nothing_behind(private_tmp):
    codec = vvenc.VvencCodec(timeout=120)
    try:
        encoded = codec.encode(gradient(40, 24), 40)
    except MissingResourceError as exc:  # an ffmpeg without libvvenc: nothing to test here
        pytest.skip(str(exc))
    decoded = codec.decode(encoded.data)
    assert decoded.shape == (24, 40, 3)
    assert np.abs(decoded.astype(int) - gradient(40, 24).astype(int)).mean() < 20
    assert all_files(private_tmp) == []

