"""The house rules of DESIGN.md: who may import whom, checked in fresh interpreters."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

CORE = [
    "errors",
    "const",
    "config",
    "intent_map",
    "intent_map.spec",
    "render",
    "pushover",
    "attachments",
    "service",
    "phrases",
    "logs",
    "receipts",
]
HEAVY_WEB = ("flask", "werkzeug", "waitress", "hypercorn", "h11")
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


def test_the_receipt_stores_never_import_boto3():
    """boto3 is the Lambda runtime's; the DynamoDB store is handed a client (lambda_function makes it)."""
    loaded = roots(modules_after_import("skill.receipts.dynamodb") | modules_after_import("skill.receipts"))
    assert not loaded & {"boto3", "botocore"}


def test_alexa_layer_imports_no_flask():
    loaded = roots(modules_after_import("skill.alexa"))
    assert "ask_sdk_core" in loaded
    assert not loaded & set(HEAVY_WEB + BROKEN_ON_OPENSSL3)


def test_cli_entry_point_is_light():
    loaded = roots(modules_after_import("skill.__main__"))
    assert not loaded & set(HEAVY_WEB + BROKEN_ON_OPENSSL3)
    assert not {m for m in loaded if m.startswith("ask_sdk")}


def test_only_web_module_names_flask():
    """skill/web.py and the dashboard it imports (skill/ui/), in every package below skill/ too."""
    from pathlib import Path

    offenders = []
    for path in Path("skill").rglob("*.py"):
        text = path.read_text()
        allowed = path.parts == ("skill", "web.py") or path.parts[1] == "ui"
        if not allowed and ("import flask" in text or "from flask" in text):
            offenders.append(str(path))
        if any(name in text for name in BROKEN_ON_OPENSSL3):
            offenders.append(str(path))
    assert offenders == []
    assert len(list(Path("skill").rglob("*.py"))) > len(list(Path("skill").glob("*.py")))  # the packages are seen


def test_requirements_do_not_pull_packages_broken_on_openssl3():
    from pathlib import Path

    text = Path("requirements.txt").read_text().lower()
    assert not any(name.replace("_", "-") in text for name in BROKEN_ON_OPENSSL3)


def test_intent_map_spec_loads_neither_render_nor_the_loader():
    loaded = modules_after_import("skill.intent_map.spec")
    assert "skill.intent_map.spec" in loaded
    assert not {m for m in loaded if m in {"skill.render", "jinja2", "yaml"} or m.startswith("skill.intent_map.load")}


def test_intent_map_entry_points_still_import_from_the_package():
    code = "from skill.intent_map import load_intent_map, parse_intent_map; print(parse_intent_map.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "skill.intent_map.load"


def _imports_at_load(path: Path, module: str) -> set[str]:
    """The skill modules ``module`` imports when it is loaded (not in functions, not for type checkers)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = f"{base}.{node.module}" if node.level and node.module else base if node.level else node.module
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _skill_import_graph() -> dict[str, set[str]]:
    modules = {}
    for path in Path("skill").rglob("*.py"):
        parts = path.with_suffix("").parts
        name = ".".join(parts[:-1] if path.name == "__init__.py" else parts)
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for target in _imports_at_load(path, name):
            # Importing a.b.c runs a/__init__ and a/b/__init__ first, unless they are already running:
            # the packages that hold the importing module.
            parts = target.split(".")
            edges.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        holders = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        graph[name] = {e for e in edges if e in modules and e != name and e not in holders}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_skill_modules_import_no_circle():
    graph = _skill_import_graph()
    assert {"skill.render", "skill.intent_map", "skill.intent_map.spec"} <= graph.keys()
    assert "skill.intent_map.spec" in graph["skill.intent_map"]
    assert "skill.intent_map.spec" in graph["skill.render"]
    assert _cycle(graph) == []


def test_the_circle_finder_sees_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_skill_file_over_400_lines():
    """A file that grows past ~400 lines is telling you it is two (DESIGN.md), in every package below skill/."""
    files = list(Path("skill").rglob("*.py"))
    long = {str(p): n for p in files if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
    assert Path("skill/intent_map/spec.py") in files  # the packages are seen


def _private_calls_across_modules(path: Path) -> list[str]:
    """``obj._name(…)`` in ``path`` where ``_name`` is a private method that ``path`` does not define itself."""
    tree = ast.parse(path.read_text())
    own = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name, owner = node.func.attr, node.func.value
        if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
            continue
        if name.startswith("_") and not name.startswith("__") and name not in own:
            found.append(f"{path}:{node.lineno}: {ast.unparse(node.func)}")
    return found


def test_no_module_calls_private_methods_of_another():
    """Service's helpers (delivery, builtin_answers, alert_intents) go through its public interface."""
    files = list(Path("skill").rglob("*.py"))
    assert Path("skill/delivery.py") in files
    assert [hit for path in files for hit in _private_calls_across_modules(path)] == []


def test_the_private_call_finder_sees_one(tmp_path):
    path = tmp_path / "helper.py"
    path.write_text("def run(service):\n    return service._handle(1)\n")
    assert _private_calls_across_modules(path) == [f"{path}:2: service._handle"]
