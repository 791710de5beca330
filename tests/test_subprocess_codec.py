"""SubprocessCodec: argument lists, timeouts that kill, stderr in errors, missing programs, temp cleanup."""

import sys
import time

import numpy as np
import pytest

from pgpcodec.errors import CodecError, MissingResourceError, UsageError
from pgpcodec.subprocess_codec import SubprocessCodec, stderr_tail


class EchoCodec(SubprocessCodec):
    """Runs Python as its 'encoder' so tests can make it fail, hang or succeed."""

    name = "echo"
    install_hint = "install echo"

    def __init__(self, script: str, **options):
        super().__init__(**options)
        self.script = script
        self.folders = []

    def _encode(self, image, quality):
        with self.workdir() as folder:
            self.folders.append(folder)
            self.run([sys.executable, "-c", self.script, str(folder / "out")], what="encode")
            return (folder / "out").read_bytes()

    def decode(self, data):
        return np.zeros((1, 1, 3), np.uint8)


IMAGE = np.zeros((4, 4, 3), np.uint8)


def test_success_and_temporary_folder_removed():
    codec = EchoCodec("import sys; open(sys.argv[1], 'wb').write(b'ok')")
    assert codec.encode(IMAGE).data == b"ok"
    assert not codec.folders[0].exists()


def test_failure_shows_stderr_and_cleans_up():
    codec = EchoCodec("import sys; sys.stderr.write('boom: bad input\\n'); sys.exit(3)")
    with pytest.raises(CodecError, match=r"exit code 3\).*boom: bad input"):
        codec.encode(IMAGE)
    assert not codec.folders[0].exists()


def test_timeout_kills_the_child():
    codec = EchoCodec("import time; time.sleep(30)", timeout=0.5)
    start = time.perf_counter()
    with pytest.raises(CodecError, match="longer than 0.5 s"):
        codec.encode(IMAGE)
    assert time.perf_counter() - start < 10


def test_missing_program_names_the_fix():
    codec = EchoCodec("")
    with pytest.raises(MissingResourceError) as info:
        codec.run(["/nonexistent/encoder-binary"], what="encode")
    assert info.value.hint == "install echo"


def test_shell_metacharacters_are_plain_arguments(tmp_path):
    marker = tmp_path / "pwned"
    codec = EchoCodec("import sys; open(sys.argv[1], 'wb').write(b'x')")
    codec.run([sys.executable, "-c", "pass", f"; touch {marker}"], what="encode")
    assert not marker.exists()


def test_bad_timeout_is_a_usage_error():
    with pytest.raises(UsageError):
        EchoCodec("", timeout=0)


def test_stderr_tail_keeps_the_end():
    assert stderr_tail(b"") == "no error output"
    long = ("x" * 50 + "\n") * 100 + "the real reason"
    assert stderr_tail(long).endswith("the real reason") and len(stderr_tail(long)) <= 601
