"""The Makefile a new user starts with: a too-old Python named in one line, a half-built .venv made
again, `make run` installing only what serving needs, `make help`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make(*args: str) -> subprocess.CompletedProcess[str]:
    command = ["make", "--no-print-directory", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_too_old_python_is_named_in_one_line_before_anything_is_made(tmp_path):
    old = tmp_path / "python3.9"
    old.write_text('#!/bin/sh\nif [ "$1" = "-V" ]; then echo "Python 3.9.18"; exit 0; fi\nexit 1\n', encoding="utf-8")
    old.chmod(0o755)
    venv = tmp_path / "venv"
    done = make("run", f"PYTHON={old}", f"VENV={venv}")
    assert done.returncode != 0
    first = done.stderr.splitlines()[0]
    assert first == (
        f"error: this needs Python 3.11 or newer, but {old} is Python 3.9.18; "
        "install one, then: make run PYTHON=python3.11"
    )
    assert done.stdout == ""
    assert not venv.exists()


def test_a_python_that_is_not_there_is_named_in_one_line(tmp_path):
    missing = tmp_path / "python3.12"  # not on this machine: the shell (or pyenv's shim) says so
    done = make("run", f"PYTHON={missing}", f"VENV={tmp_path / 'venv'}")
    assert done.returncode != 0
    assert done.stderr.splitlines()[0] == (
        f"error: this needs Python 3.11 or newer, but {missing} is not found; "
        "install one, then: make run PYTHON=python3.11"
    )
    assert not (tmp_path / "venv").exists()


@pytest.mark.slow
def test_a_half_built_venv_is_made_again(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)  # what a set-up that stopped half-way leaves
    done = make(f"{venv}/.made", f"PYTHON={sys.executable}", f"VENV={venv}")
    assert done.returncode == 0, done.stderr
    assert f"note: {venv} is half-built (an earlier set-up stopped); making it again" in done.stderr
    assert (venv / ".made").exists()
    assert subprocess.run([venv / "bin" / "python", "-c", ""], timeout=60).returncode == 0


def test_run_installs_only_what_serving_needs_and_test_installs_the_rest(tmp_path):
    venv = tmp_path / "venv"
    run = make("-n", "run", f"VENV={venv}").stdout
    assert "-r requirements.txt" in run
    assert "requirements-dev.txt" not in run
    assert "Installing what serving needs" in run
    test = make("-n", "test", f"VENV={venv}").stdout
    assert "-r requirements.txt" in test and "-r requirements-dev.txt" in test


def test_make_help_lists_the_targets():
    done = make("help")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    for target in ("help", "run", "test", "lint", "check", "model", "bench", "clean"):
        assert any(line.split()[:2] == ["make", target] and len(line.split()) > 3 for line in lines), target
    assert make().stdout == done.stdout  # plain `make` shows the help, it does not start installing
