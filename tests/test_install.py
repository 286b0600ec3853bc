"""`pip install .` into a fresh venv gives the `alexa-pushover` command, which works from `/`.

Offline: the package is built from a copy of the checkout with the setuptools of the environment
running the tests (--no-build-isolation), and the new venv finds the runtime dependencies there
through a .pth file, never the checkout itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_packaged_example_is_the_repositorys_example():
    packaged = (ROOT / "skill" / "examples" / "intents.yaml").read_text(encoding="utf-8")
    assert packaged == (ROOT / "intents.yaml").read_text(encoding="utf-8"), "cp intents.yaml skill/examples/"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the checkout pip-installed into it; returns its bin directory."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "skill", source / "skill", ignore=shutil.ignore_patterns("__pycache__"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index", "--no-deps",
         "--no-build-isolation", "--disable-pip-version-check", str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return venv / "bin"


def run(command: list[str | Path], cwd: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHOVER_", "INTENT_MAP", "PYTHON"))}
    return subprocess.run(command, cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_installed_command_works_from_the_root_directory(installed, tmp_path):
    command = installed / "alexa-pushover"
    version = run([command, "--version"], cwd="/")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "alexa-pushover 0.1.0"
    where = run([installed / "python", "-c", "import skill; print(skill.__file__)"], cwd="/")
    assert where.stdout.startswith(str(installed.parent)), where.stdout + where.stderr

    empty = run([command, "check"], cwd=tmp_path)
    assert empty.returncode == 1
    assert empty.stderr.strip() == (
        "intents.yaml: file not found (set INTENT_MAP or pass --intent-map; `alexa-pushover init` writes a starter map)"
    )

    init = run([command, "init"], cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert "2. Check the map, the keys, your devices and sounds: alexa-pushover check --online" in init.stdout
    check = run([command, "--intent-map", str(tmp_path / "intents.yaml"), "check"], cwd="/")
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(f"{tmp_path / 'intents.yaml'}: OK (native form): 5 intents")
    mine = str(tmp_path / "intents.yaml")
    simulate = run([command, "simulate", "LocateIntent", "User=Paulus"], cwd="/", INTENT_MAP=mine)
    assert simulate.returncode == 0, simulate.stderr
    assert "  message: The location of Paulus has been queried via Alexa." in simulate.stdout
    module = run([installed / "python", "-m", "skill", "--intent-map", mine, "check"], cwd="/")
    assert module.returncode == 0, module.stderr
    help_ = run([command, "serve", "--help"], cwd="/")
    assert help_.stdout.startswith("usage: alexa-pushover serve")
