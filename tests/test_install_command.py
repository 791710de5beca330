"""`pgpcodec install` / `uninstall` build the right pip call; the real round trip is in test_example_plugins."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pgpcodec.cli import install as install_module


@pytest.fixture
def pip_calls(monkeypatch):
    """Record pip calls instead of running them; set ``pip_calls.returncode`` to simulate failure."""

    class Calls(list):
        returncode = 0

    calls = Calls()

    def fake_run(command, check=False, **kwargs):
        calls.append((command, kwargs))
        return subprocess.CompletedProcess(command, calls.returncode)

    monkeypatch.setattr(install_module.subprocess, "run", fake_run)
    return calls


def test_install_runs_pip_of_this_interpreter_with_the_options(pgpcodec_cli, pip_calls):
    result = pgpcodec_cli("install", "-U", "--pre", "--no-cache-dir", "-e", "./a", "-e", "./b", "pgpcodec-jxl")
    assert result.exit_code == 0, result.stderr
    [(command, kwargs)] = pip_calls
    assert command == [sys.executable, "-m", "pip", "install", "--upgrade", "--no-cache-dir", "--pre",
                       "--editable", "./a", "--editable", "./b", "pgpcodec-jxl"]
    assert "shell" not in kwargs


def test_uninstall_passes_yes_through(pgpcodec_cli, pip_calls):
    assert pgpcodec_cli("uninstall", "-y", "pgpcodec-jxl").exit_code == 0
    assert pip_calls[0][0] == [sys.executable, "-m", "pip", "uninstall", "--yes", "pgpcodec-jxl"]


@pytest.mark.parametrize("name", ["pgpcodec", "PGPCODEC", "PgpCodec"])
def test_uninstall_refuses_pgpcodec_itself(pgpcodec_cli, pip_calls, name):
    result = pgpcodec_cli("uninstall", "-y", "pgpcodec-jxl", name)
    assert result.exit_code == 2
    assert "will not uninstall pgpcodec itself" in result.stderr
    assert pip_calls == []


def test_install_needs_something_to_install(pgpcodec_cli, pip_calls):
    result = pgpcodec_cli("install")
    assert result.exit_code == 2 and "nothing to install" in result.stderr and pip_calls == []


def test_a_pip_failure_is_a_one_line_error(pgpcodec_cli, pip_calls):
    pip_calls.returncode = 1
    result = pgpcodec_cli("install", "no-such-plugin")
    assert result.exit_code == 1
    assert result.stderr.strip() == "pgpcodec: error: pip install failed (exit status 1) (see pip's messages above)"


def test_missing_pip_names_the_fix(pgpcodec_cli, pip_calls, monkeypatch):
    monkeypatch.setattr(install_module.importlib.util, "find_spec", lambda name: None)
    result = pgpcodec_cli("install", "pgpcodec-jxl")
    assert result.exit_code == 1 and "ensurepip" in result.stderr and pip_calls == []
