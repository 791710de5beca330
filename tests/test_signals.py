"""SIGTERM and SIGHUP clean up as SIGINT does: no temporary file in the output folder, no orphaned ffmpeg,
no temporary folder (issue 16 A). Real signals, sent to a real pgpcodec process at random points, 20 tries each."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_files import gradient
from PIL import Image

FAST = ["-p", "x", "--scorer", "uniform", "--prompt-processor", "none"]
TRIES = 20
SIGNALS = [signal.SIGTERM, signal.SIGHUP]

# A slow disk: fsync takes 40 ms, so a good share of the random signals land while a temporary file exists.
SLOW_DISK = (
    "import os, sys, time; real = os.fsync; "
    "os.fsync = lambda fd: (time.sleep(0.04), real(fd))[1]; "
    "from pgpcodec.cli import main; main(sys.argv[1:])"
)


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that name ``text`` (our private temporary folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if text in command and state != "Z":
            found.append(f"{entry.name}: {command}")
    return found


def finish(process: subprocess.Popen, signum: int) -> tuple[int, str]:
    _, err = process.communicate(timeout=60)
    return process.returncode, err.decode("utf-8", "replace")


@pytest.mark.parametrize("seed", [16])
def test_signal_mid_batch_leaves_no_temporary_file(tmp_path, seed):
    rng = random.Random(seed)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(8):
        Image.fromarray(gradient(96 + 8 * i, 64)).save(inputs / f"p{i}.png")
    files = sorted(str(p) for p in inputs.iterdir())
    interrupted = 0
    for attempt in range(TRIES):
        out = tmp_path / f"out{attempt}"
        signum = SIGNALS[attempt % 2]
        process = subprocess.Popen([sys.executable, "-c", SLOW_DISK, "encode", *files, *FAST, "-o", str(out) + "/"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Mid-batch: once the first output (or its temporary file) shows up, wait a random moment.
        wait_for(lambda: (out.is_dir() and any(out.iterdir())) or process.poll() is not None, 60)
        time.sleep(rng.uniform(0, 0.4))
        process.send_signal(signum)
        code, err = finish(process, signum)
        left = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
        assert left == [], (attempt, signum, left, err)
        if code == 0 or (code == -signum and err.count(" -> ") == len(files)):
            continue  # the batch finished before the signal
        interrupted += 1
        assert code == 128 + signum, (attempt, code, err)
        assert err.strip().splitlines()[-1] == f"pgpcodec: terminated by {signal.Signals(signum).name}", err
        assert "Traceback" not in err
        for done in out.iterdir():
            data = done.read_bytes()
            assert data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9"), done  # only complete outputs
    assert interrupted >= TRIES // 2  # most signals did land mid-batch


def test_signal_during_vvenc_kills_ffmpeg_and_removes_its_folder(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    rng = random.Random(1616)
    source = tmp_path / "v.png"
    Image.fromarray(gradient(160, 128)).save(source)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    interrupted = 0
    for attempt in range(TRIES):
        signum = SIGNALS[attempt % 2]
        out = tmp_path / f"v{attempt}.266"
        process = subprocess.Popen([sys.executable, "-m", "pgpcodec", "encode", str(source), *FAST, "-c", "vvenc", "-o", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        # While ffmpeg works: its temporary folder exists; then a random moment.
        wait_for(lambda: any(temp.iterdir()) or process.poll() is not None, 60)
        time.sleep(rng.uniform(0, 0.1))
        process.send_signal(signum)
        code, err = finish(process, signum)
        assert processes_mentioning(str(temp)) == [], (attempt, err)
        assert list(temp.iterdir()) == [], (attempt, signum, err)
        if code == 0 or (code == -signum and " -> " in err):
            continue  # finished before the signal (or was told to stop after its work was done)
        interrupted += 1
        assert code == 128 + signum, (attempt, code, err)
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []  # an output is all there, or not there
    assert interrupted >= TRIES // 4  # enough signals landed while ffmpeg ran (a fast machine finishes some first)


def test_sigint_still_aborts_with_130(tmp_path):
    source = tmp_path / "a.png"
    Image.fromarray(gradient(96, 64)).save(source)
    slow_load = (
        "import sys, time; import pgpcodec.imaging as im; real = im.load_image; "
        "im.load_image = lambda *a, **k: (print('loading', file=sys.stderr, flush=True), time.sleep(30), real(*a, **k))[2]; "
        "from pgpcodec.cli import main; main(sys.argv[1:])"
    )
    process = subprocess.Popen([sys.executable, "-c", slow_load, "encode", str(source), *FAST, "-o", str(tmp_path / "o.jpg")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr.readline() == b"loading\n"
    process.send_signal(signal.SIGINT)
    code, err = finish(process, signal.SIGINT)
    assert code == 130 and "aborted" in err and not (tmp_path / "o.jpg").exists()


# The codec's program, made slow and recognisable: `sh -c 'sleep 30' TOKEN` (TOKEN is sh's $0, so it shows in
# the command line). A codec call under --plugin-timeout runs in a plugin thread, which no signal unwinds.
SLOW_PROGRAM = (
    "import sys; from pgpcodec import subprocess_codec as sc; real = sc.SubprocessCodec.run; token = sys.argv.pop(1); "
    "sc.SubprocessCodec.run = lambda self, args, what: real(self, ['sh', '-c', 'sleep 30', token], what=what); "
    "from pgpcodec.cli import main; main(sys.argv[1:])"
)


def programs(token: str) -> list[str]:
    """The codec's slow programs still alive (pgpcodec's own command line names the token too)."""
    return [p for p in processes_mentioning(token) if p.split(": ", 1)[1].startswith("sh -c")]


def slow_codec_run(tmp_path, token: str, *extra: str) -> subprocess.Popen:
    source = tmp_path / "s.png"
    Image.fromarray(gradient(64, 48)).save(source)
    return subprocess.Popen([sys.executable, "-c", SLOW_PROGRAM, token, "encode", str(source), *FAST, "-c", "vvenc", *extra,
                             "-o", str(tmp_path / f"{token}.266")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_a_codec_call_abandoned_after_its_timeout_leaves_no_program_running(tmp_path):
    token = f"pgpcodec-abandoned-{os.getpid()}"
    code, err = finish(slow_codec_run(tmp_path, token, "--plugin-timeout", "0.5"), 0)
    assert code == 1 and "did not finish within 0.5 s" in err, err
    assert programs(token) == [], err


@pytest.mark.parametrize("signum", SIGNALS)
def test_a_signal_kills_the_program_of_a_codec_call_in_a_plugin_thread(tmp_path, signum):
    token = f"pgpcodec-signalled-{os.getpid()}-{int(signum)}"
    process = slow_codec_run(tmp_path, token, "--plugin-timeout", "120")
    assert wait_for(lambda: programs(token) != [] or process.poll() is not None, 60)
    process.send_signal(signum)
    code, err = finish(process, signum)
    assert code == 128 + signum, err
    assert programs(token) == [], err
