"""The house rules of DESIGN.md: who may import whom, checked in fresh interpreters."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CORE = ["errors", "const", "config", "intent_map", "render", "pushover", "attachments", "service", "phrases", "logs"]
HEAVY_WEB = ("flask", "werkzeug", "waitress")
BROKEN_ON_OPENSSL3 = ("flask_ask_sdk", "ask_sdk_webservice_support", "certvalidator", "oscrypto")


def modules_after_import(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


def roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("name", CORE)
def test_core_imports_neither_ask_sdk_nor_flask(name):
    loaded = roots(modules_after_import(f"skill.{name}"))
    assert not {m for m in loaded if m.startswith("ask_sdk")}
    assert not loaded & set(HEAVY_WEB)


def test_alexa_layer_imports_no_flask():
    loaded = roots(modules_after_import("skill.alexa"))
    assert "ask_sdk_core" in loaded
    assert not loaded & set(HEAVY_WEB + BROKEN_ON_OPENSSL3)


def test_cli_entry_point_is_light():
    loaded = roots(modules_after_import("skill.__main__"))
    assert not loaded & set(HEAVY_WEB + BROKEN_ON_OPENSSL3)
    assert not {m for m in loaded if m.startswith("ask_sdk")}


def test_only_web_module_names_flask():
    from pathlib import Path

    offenders = []
    for path in Path("skill").glob("*.py"):
        text = path.read_text()
        if path.name != "web.py" and ("import flask" in text or "from flask" in text):
            offenders.append(path.name)
        if any(name in text for name in BROKEN_ON_OPENSSL3):
            offenders.append(path.name)
    assert offenders == []


def test_requirements_do_not_pull_packages_broken_on_openssl3():
    from pathlib import Path

    text = Path("requirements.txt").read_text().lower()
    assert not any(name.replace("_", "-") in text for name in BROKEN_ON_OPENSSL3)
