"""Outputs never replace what is not a regular file; inputs are read only through the format allow-list;
batches check every output against every input first; folders, stdin/stdout and OS write failures (issue 16 A)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hostile_files import png_bytes
from PIL import Image

from pgpcodec.errors import OutputError
from pgpcodec.imaging import write_atomic
from pgpcodec.testing.plugin import invoke_cli

FAST = ["-p", "x", "--scorer", "uniform", "--prompt-processor", "none"]
PGPCODEC = [sys.executable, "-m", "pgpcodec"]
JPEG_MAGIC = b"\xff\xd8\xff"
ROOT = os.geteuid() == 0


def photo(path: Path) -> Path:
    path.write_bytes(png_bytes())
    return path


def leftovers(*folders: Path) -> list[str]:
    return [p.name for folder in folders for p in folder.iterdir() if p.name.endswith(".tmp")]


# -- 1. special files, symlinks, - ----------------------------------------------------------


@pytest.mark.skipif(not ROOT, reason="mknod needs root")
def test_character_device_is_written_into_not_replaced(tmp_path, capsys):
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the same device as /dev/null
    source = photo(tmp_path / "a.png")
    for extra in ([], ["--force"]):
        code, _, err = invoke_cli(["encode", source, *FAST, "-o", null, *extra], capsys)
        assert code == 0, err
        assert stat.S_ISCHR(null.lstat().st_mode) and null.stat().st_rdev == os.makedev(1, 3)
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(not ROOT, reason="mknod needs root")
def test_block_device_is_refused(tmp_path, capsys):
    node = tmp_path / "disk"
    os.mknod(node, 0o600 | stat.S_IFBLK, os.makedev(7, 250))  # never opened: refused from its type
    code, _, err = invoke_cli(["encode", photo(tmp_path / "a.png"), *FAST, "-o", node, "--force"], capsys)
    assert code == 1 and "block device" in err
    assert stat.S_ISBLK(node.lstat().st_mode)


def test_fifo_is_streamed_into(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code, _, err = invoke_cli(["encode", photo(tmp_path / "a.png"), *FAST, "-o", fifo, "--force"], capsys)
    reader.join(30)
    assert code == 0, err
    assert received and received[0].startswith(JPEG_MAGIC)
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and leftovers(tmp_path) == []


def test_unix_socket_is_streamed_into(tmp_path, capsys):
    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    server.settimeout(30)
    received = bytearray()

    def accept():
        connection, _ = server.accept()
        with connection:
            while chunk := connection.recv(65536):
                received.extend(chunk)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    code, _, err = invoke_cli(["encode", photo(tmp_path / "a.png"), *FAST, "-o", path], capsys)
    thread.join(30)
    server.close()
    assert code == 0, err
    assert bytes(received).startswith(JPEG_MAGIC) and stat.S_ISSOCK(path.lstat().st_mode)


def test_symlink_output_writes_its_target_atomically_and_stays_a_link(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real = elsewhere / "real.jpg"
    real.write_bytes(b"old")
    link = tmp_path / "link.jpg"
    link.symlink_to(real)
    source = photo(tmp_path / "a.png")
    code, _, err = invoke_cli(["encode", source, *FAST, "-o", link], capsys)
    assert code == 1 and "already exists" in err and real.read_bytes() == b"old"  # the target exists: --force
    code, _, err = invoke_cli(["encode", source, *FAST, "-o", link, "--force"], capsys)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes().startswith(JPEG_MAGIC) and leftovers(tmp_path, elsewhere) == []
    dangling = tmp_path / "dangling.jpg"
    dangling.symlink_to(elsewhere / "new.jpg")
    code, _, err = invoke_cli(["encode", source, *FAST, "-o", dangling], capsys)
    assert code == 0, err
    assert dangling.is_symlink() and (elsewhere / "new.jpg").read_bytes().startswith(JPEG_MAGIC)


def test_write_atomic_puts_the_temporary_file_next_to_the_symlink_target(tmp_path, monkeypatch):
    import tempfile

    folder = tmp_path / "target"
    folder.mkdir()
    (tmp_path / "link").symlink_to(folder / "file.bin")
    used = []
    real_mkstemp = tempfile.mkstemp
    monkeypatch.setattr(tempfile, "mkstemp", lambda **kw: used.append(kw["dir"]) or real_mkstemp(**kw))
    write_atomic(tmp_path / "link", b"data")
    assert used == [folder] and (folder / "file.bin").read_bytes() == b"data"


def test_stdout_like_symlink_and_dash(tmp_path):
    """A /dev/stdout-style link (made in the test's folder) and '-' both write to the process's stdout pipe."""
    source = photo(tmp_path / "a.png")
    stdout_link = tmp_path / "stdout"
    stdout_link.symlink_to("/proc/self/fd/1")
    run = subprocess.run([*PGPCODEC, "encode", str(source), *FAST, "-o", str(stdout_link), "--force"], capture_output=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(JPEG_MAGIC)
    assert stdout_link.is_symlink() and os.readlink(stdout_link) == "/proc/self/fd/1"
    # cat a.png | pgpcodec encode - -o - > b.jpg
    run = subprocess.run([*PGPCODEC, "encode", "-", *FAST, "-o", "-"], input=source.read_bytes(), capture_output=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(JPEG_MAGIC) and b"<stdin> -> <stdout>" in run.stderr
    decoded = subprocess.run([*PGPCODEC, "decode", "-", "-o", "-"], input=run.stdout, capture_output=True, timeout=120, cwd=tmp_path)
    assert decoded.returncode == 0 and decoded.stdout.startswith(b"\x89PNG"), decoded.stderr
    filtered = subprocess.run([*PGPCODEC, "prefilter", "-", *FAST, "-o", "-"], input=source.read_bytes(), capture_output=True, timeout=120, cwd=tmp_path)
    assert filtered.returncode == 0 and filtered.stdout.startswith(b"\x89PNG"), filtered.stderr


def test_a_file_named_dash_needs_dot_slash(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("-").write_bytes(png_bytes())
    code, _, err = invoke_cli(["encode", "./-", *FAST, "-o", "./-.jpg"], capsys)
    assert code == 0, err
    assert Path("-.jpg").read_bytes().startswith(JPEG_MAGIC)
    code, _, err = invoke_cli(["encode", "-", "-", *FAST, "-o", "out/"], capsys)
    assert code == 2 and "only once" in err


def test_json_and_stdout_output_are_refused_together(tmp_path, capsys):
    code, _, err = invoke_cli(["encode", photo(tmp_path / "a.png"), *FAST, "-o", "-", "--json"], capsys)
    assert code == 2 and "--json" in err


# -- 2. Pillow format allow-list: no Ghostscript --------------------------------------------


@pytest.fixture
def fake_gs(tmp_path, monkeypatch):
    """A `gs` first on PATH that records its calls (and claims a version, so Pillow would go on to use it)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    calls = tmp_path / "gs-calls"
    script = folder / "gs"
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$1" = --version ] && echo 10.02.1\nexit 0\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    from PIL import EpsImagePlugin

    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # Pillow caches its gs lookup
    eps = tmp_path / "upload.jpg"
    Image.new("RGB", (16, 16), (200, 10, 10)).save(eps, "EPS")
    return eps, calls


def test_eps_named_jpg_never_reaches_ghostscript_through_the_cli(fake_gs, tmp_path):
    eps, calls = fake_gs
    run = subprocess.run([*PGPCODEC, "encode", str(eps), *FAST, "-o", str(tmp_path / "o.jpg")], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert not calls.exists(), calls.read_text()
    assert run.returncode == 1 and "not one of the accepted formats" in run.stderr and "internal error" not in run.stderr


def test_input_formats_are_configurable_but_never_eps(tmp_path, capsys, monkeypatch):
    from pgpcodec.errors import UsageError
    from pgpcodec.imaging import input_formats, load_image

    source = photo(tmp_path / "a.png")
    monkeypatch.setenv("PGPCODEC_INPUT_FORMATS", "jpeg")
    code, _, err = invoke_cli(["encode", source, *FAST, "-o", tmp_path / "o.jpg"], capsys)
    assert code == 1 and "accepted formats: JPEG" in err
    assert load_image(source, formats=["PNG"])[0].shape == (64, 96, 3)
    for refused in ("png,EPS", "PDF", "ps"):
        monkeypatch.setenv("PGPCODEC_INPUT_FORMATS", refused)
        with pytest.raises(UsageError, match="never opened"):
            input_formats()
    monkeypatch.setenv("PGPCODEC_INPUT_FORMATS", "PNG,NOSUCH")
    with pytest.raises(UsageError, match="NOSUCH"):
        input_formats()


# -- 3. batch outputs against every input ---------------------------------------------------


def test_batch_output_that_is_another_input_is_refused_before_any_work(tmp_path, capsys):
    first = photo(tmp_path / "a.png")
    second = tmp_path / "a.pgp.jpg"  # first's default output
    second.write_bytes(png_bytes())
    before = second.read_bytes()
    code, _, err = invoke_cli(["encode", first, second, *FAST, "--force"], capsys)
    assert code == 1 and "would overwrite the input" in err
    assert second.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["a.pgp.jpg", "a.png"]


def test_batch_output_hard_linked_to_an_input_is_refused(tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    a, b = photo(inputs / "a.png"), photo(inputs / "b.png")
    out = tmp_path / "out"
    out.mkdir()
    os.link(b, out / "a.jpg")  # a's output is b under another name
    code, _, err = invoke_cli(["encode", a, b, *FAST, "-o", out, "--force"], capsys)
    assert code == 1 and "would overwrite the input" in err and str(b) in err
    assert b.read_bytes() == png_bytes() and sorted(p.name for p in out.iterdir()) == ["a.jpg"]
    linked = tmp_path / "linked"
    linked.symlink_to(inputs)  # -o through a symlinked folder onto the inputs themselves
    code, _, err = invoke_cli(["encode", inputs / "a.png", *FAST, "-o", linked / "a.png", "--force-extension", "--force"], capsys)
    assert code == 1 and "would overwrite the input" in err and a.read_bytes() == png_bytes()


def test_save_filtered_equal_to_output_is_refused_before_any_file_is_written(tmp_path, capsys):
    out = tmp_path / "o.jpg"
    code, _, err = invoke_cli(["encode", photo(tmp_path / "a.png"), *FAST, "-o", out, "--save-filtered", tmp_path / "." / "o.jpg"], capsys)
    assert code == 2 and "same file" in err
    assert not out.exists() and leftovers(tmp_path) == []


# -- 5. folders, formats from content, extensions, default outputs, JSON ---------------------


def test_folder_input_mirrors_the_tree(tmp_path, capsys):
    tree = tmp_path / "photos"
    (tree / "2024" / "june").mkdir(parents=True)
    photo(tree / "top.png")
    photo(tree / "2024" / "x.png")
    Image.new("RGB", (20, 10)).save(tree / "2024" / "x.jpg")  # same stem as x.png: both kept
    photo(tree / "2024" / "june" / "y.png")
    (tree / "notes.txt").write_text("not an image")
    (tree / ".hidden.png").write_bytes(png_bytes())
    code, _, err = invoke_cli(["encode", tree, *FAST, "-o", tmp_path / "out"], capsys)
    assert code == 2 and "--recursive" in err
    code, out, err = invoke_cli(["encode", tree, *FAST, "-o", tmp_path / "out", "--recursive", "--json"], capsys)
    assert code == 0, err
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == ["2024/june/y.jpg", "2024/x.jpg.jpg", "2024/x.png.jpg", "top.jpg"]
    assert json.loads(out.splitlines()[-1]) == {"summary": {"done": 4, "failed": 0}}
    code, _, err = invoke_cli(["encode", tree, *FAST, "--recursive"], capsys)
    assert code == 2 and "needs -o" in err


def test_json_reports_failures_and_ends_with_a_summary(tmp_path, capsys):
    good = photo(tmp_path / "good.png")
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    code, out, err = invoke_cli(["encode", good, bad, *FAST, "-o", tmp_path / "out", "--json"], capsys)
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["input"] == str(good) and rows[0]["bytes"] > 0
    assert rows[1]["input"] == str(bad) and "not a readable image" in rows[1]["error"] and "hint" in rows[1]
    assert rows[2] == {"summary": {"done": 1, "failed": 1}}
    code, out, err = invoke_cli(["encode", good, bad, *FAST, "-o", tmp_path / "out2"], capsys)
    assert err.strip().splitlines()[-1] == "done 1, failed 1" and out == ""


def test_decode_reads_the_format_from_the_content(tmp_path, capsys):
    source = photo(tmp_path / "src.png")
    code, _, err = invoke_cli(["encode", source, *FAST, "-c", "webp", "-o", tmp_path / "a.webp"], capsys)
    assert code == 0, err
    misnamed = tmp_path / "a.heic"  # a WebP stream named as HEIC
    misnamed.write_bytes((tmp_path / "a.webp").read_bytes())
    code, _, err = invoke_cli(["decode", misnamed], capsys)  # default -o: a.png next to it
    assert code == 0 and "(webp, 96x64)" in err, err
    assert Image.open(tmp_path / "a.png").size == (96, 64)


def test_decode_and_prefilter_default_outputs(tmp_path, capsys):
    source = photo(tmp_path / "a.png")
    code, _, err = invoke_cli(["prefilter", source, *FAST], capsys)
    assert code == 0, err
    assert Image.open(tmp_path / "a.filtered.png").size == (96, 64)
    code, _, err = invoke_cli(["encode", source, *FAST], capsys)
    assert code == 0 and (tmp_path / "a.pgp.jpg").exists()
    code, _, err = invoke_cli(["decode", tmp_path / "a.pgp.jpg"], capsys)
    assert code == 0 and Image.open(tmp_path / "a.pgp.png").size == (96, 64)
    named_png = tmp_path / "b.png"  # a JPEG stream named .png: decoded next to it, never onto itself
    named_png.write_bytes((tmp_path / "a.pgp.jpg").read_bytes())
    code, _, err = invoke_cli(["decode", named_png], capsys)
    assert code == 0 and Image.open(tmp_path / "b.decoded.png").format == "PNG"
    assert named_png.read_bytes().startswith(JPEG_MAGIC)
    code, _, err = invoke_cli(["decode", "-"], capsys)
    assert code == 2 and "needs -o" in err


def test_encode_refuses_an_extension_of_another_codec(tmp_path, capsys):
    source = photo(tmp_path / "a.png")
    for name in ("o.heic", "o.266", "o.png"):
        code, _, err = invoke_cli(["encode", source, *FAST, "-o", tmp_path / name], capsys)
        assert code == 2 and "--force-extension" in err and not (tmp_path / name).exists(), err
    for name in ("o.jpeg", "o.bin", "noext"):
        code, _, err = invoke_cli(["encode", source, *FAST, "-o", tmp_path / name], capsys)
        assert code == 0, err
    code, _, err = invoke_cli(["encode", source, *FAST, "-o", tmp_path / "o.heic", "--force-extension"], capsys)
    assert code == 0 and (tmp_path / "o.heic").read_bytes().startswith(JPEG_MAGIC)


# -- 6. OS write failures -------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(folder: Path, options: str):
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "internal error" not in lines[0] and "Traceback" not in err
    return lines[0]


def test_read_only_output_folder(tmp_path, capsys):
    source = photo(tmp_path / "a.png")
    with tmpfs(tmp_path / "ro", "ro,size=1m") as folder:
        code, _, err = invoke_cli(["encode", source, *FAST, "-o", folder / "o.jpg"], capsys)
        assert code == 1 and "read-only file system" in one_error_line(err)
        code, _, err = invoke_cli(["encode", source, source, *FAST, "-o", folder / "sub"], capsys)
        assert code == 1 and "read-only file system" in err and "internal error" not in err


@pytest.mark.skipif(not ROOT or not shutil.which("setpriv"), reason="drops root's CAP_DAC_OVERRIDE to meet a permission error")
def test_unwritable_output_folder_without_root_privilege(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    source = photo(tmp_path / "a.png")
    drop = "-dac_override,-dac_read_search"
    run = subprocess.run(
        ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", *PGPCODEC, "encode", str(source), *FAST, "-o", str(folder / "o.jpg")],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 1 and "permission denied" in one_error_line(run.stderr), run.stderr
    assert list(folder.iterdir()) == []


def test_disk_full_leaves_no_temporary_file(tmp_path, capsys):
    from hostile_files import gradient

    big = tmp_path / "big.png"
    Image.fromarray(gradient(1200, 900)).save(big)
    with tmpfs(tmp_path / "small", "size=64k") as folder:
        code, _, err = invoke_cli(["encode", big, *FAST, "-q", "95", "-o", folder / "o.jpg"], capsys)
        assert code == 1 and "disk full" in one_error_line(err)
        assert list(folder.iterdir()) == []


def test_disk_full_simulated_write(tmp_path, monkeypatch):
    import errno

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="disk full"):
        write_atomic(tmp_path / "o.jpg", b"x" * 1000)
    assert list(tmp_path.iterdir()) == []


def test_file_size_limit_efbig_leaves_no_temporary_file(tmp_path):
    source = photo(tmp_path / "a.png")
    out = tmp_path / "out"
    out.mkdir()
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200)); "
        "from pgpcodec.cli import main; main(sys.argv[1:])"
    )
    run = subprocess.run([sys.executable, "-c", code, "encode", str(source), *FAST, "-q", "95", "-o", str(out / "o.jpg")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 1 and "file too large" in one_error_line(run.stderr), run.stderr
    assert list(out.iterdir()) == []


def test_output_name_longer_than_the_file_system_allows(tmp_path, capsys):
    source = photo(tmp_path / "a.png")
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    code, _, err = invoke_cli(["encode", source, *FAST, "-o", tmp_path / ("n" * (limit - 4) + ".jpg")], capsys)
    assert code == 0, err  # a name that fits is written, even though the temporary name is longer
    code, _, err = invoke_cli(["encode", source, *FAST, "-o", tmp_path / ("n" * limit + ".jpg")], capsys)
    assert code == 1 and "file name too long" in one_error_line(err)
    assert leftovers(tmp_path) == []


def test_tiff_with_seven_samples_is_one_line(tmp_path):
    import struct

    width, height, samples = 4, 3, 7
    pixels = bytes(range(width * height * samples))
    count = 10
    bits_at = 8 + 2 + count * 12 + 4
    data_at = bits_at + 2 * samples
    entries = [(256, 3, 1, width), (257, 3, 1, height), (258, 3, samples, bits_at), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, data_at), (277, 3, 1, samples), (278, 3, 1, height), (279, 4, 1, len(pixels)), (284, 3, 1, 1)]
    ifd = struct.pack("<H", count) + b"".join(
        struct.pack("<HHIHH", tag, kind, n, value, 0) if kind == 3 and n == 1 else struct.pack("<HHII", tag, kind, n, value)
        for tag, kind, n, value in entries
    ) + b"\0\0\0\0"
    tiff = tmp_path / "seven.tif"
    tiff.write_bytes(b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack(f"<{samples}H", *[8] * samples) + pixels)
    # In a real process: pytest's log capture would hide the stray line Pillow's logger used to print.
    run = subprocess.run([*PGPCODEC, "encode", str(tiff), *FAST, "-o", str(tmp_path / "o.jpg")], capture_output=True, text=True, timeout=120)
    line = one_error_line(run.stderr)
    assert run.returncode == 1 and line.startswith(f"error: {tiff}:") and "samples per pixel" in line
