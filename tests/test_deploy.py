"""Deployment files, tested offline: template.yaml through aws-sam-translator, the Lambda bundle that
`sam build` makes (invoked from its own directory), the Dockerfile, .dockerignore, and the image's CMD.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.fake_pushover import TOKEN, USER

ROOT = Path(__file__).parent.parent
SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:alexa-pushover-AbCdEf"
WEB_ONLY = {"flask", "werkzeug", "waitress", "cryptography", "itsdangerous", "click", "blinker"}
WEB_ONLY |= {"hypercorn", "h11", "h2", "wsproto", "priority"}


# --------------------------------------------------------------------------- template.yaml


def translate(monkeypatch, **parameters: str) -> dict[str, Any]:
    """template.yaml as CloudFormation, the way `sam deploy` has it translated (CodeUri as sam package sets it)."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    # The translator asks boto3 for a region; keep it away from any local AWS configuration.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    template = yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))
    template["Resources"]["SkillFunction"]["Properties"]["CodeUri"] = "s3://bucket/skill.zip"

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    cfn = transform(copy.deepcopy(template), dict(parameters), NoManagedPolicies())
    values = {name: spec.get("Default") for name, spec in cfn["Parameters"].items()} | parameters
    conditions: dict[str, bool] = {}
    for name, expr in cfn.get("Conditions", {}).items():
        conditions[name] = resolve(expr, values, conditions)
    return resolve(cfn, values, conditions)


_NO_VALUE = object()


def resolve(node: Any, params: dict[str, Any], conditions: dict[str, bool]) -> Any:
    """Evaluate the intrinsics this template uses (Ref to parameters, If, Not, Equals, Sub with a map)."""
    if isinstance(node, list):
        return [v for v in (resolve(item, params, conditions) for item in node) if v is not _NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref" and arg == "AWS::NoValue":
            return _NO_VALUE
        if key == "Ref" and arg in params:
            return params[arg]
        if key == "Fn::If":
            name, yes, no = arg
            return resolve(yes if conditions[name] else no, params, conditions)
        if key == "Fn::Not":
            return not resolve(arg[0], params, conditions)
        if key == "Fn::Equals":
            left, right = (resolve(a, params, conditions) for a in arg)
            return left == right
        if key == "Fn::Sub" and isinstance(arg, list):
            text, names = arg[0], resolve(arg[1], params, conditions)
            return re.sub(r"\$\{(\w+)\}", lambda m: str(names.get(m.group(1), m.group(0))), text)
    resolved = {k: resolve(v, params, conditions) for k, v in node.items()}
    return {k: v for k, v in resolved.items() if v is not _NO_VALUE}


def of_type(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in cfn["Resources"].items() if res["Type"] == kind}


def test_the_function_runs_the_handler_on_python_313_arm64(monkeypatch):
    cfn = translate(monkeypatch, AlexaSkillId=SKILL_ID, PushoverSecretArn=SECRET_ARN)
    function = cfn["Resources"]["SkillFunction"]
    assert function["Type"] == "AWS::Lambda::Function"
    props = function["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "skill.lambda_function.handler"
    assert props["Timeout"] == 7  # Alexa gives up after about 8 s
    assert 256 <= props["MemorySize"] <= 1024
    assert props["Environment"]["Variables"]["ALEXA_SKILL_ID"] == SKILL_ID
    module, _, name = props["Handler"].rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))


def test_only_the_skill_may_invoke_the_function(monkeypatch):
    cfn = translate(monkeypatch, AlexaSkillId=SKILL_ID)
    (permission,) = of_type(cfn, "AWS::Lambda::Permission").values()
    props = permission["Properties"]
    assert props["Principal"] == "alexa-appkit.amazon.com"
    assert props["EventSourceToken"] == SKILL_ID
    assert props["Action"] == "lambda:InvokeFunction"
    assert props["FunctionName"] == {"Ref": "SkillFunction"}


def test_logs_go_to_a_log_group_with_retention(monkeypatch):
    cfn = translate(monkeypatch, AlexaSkillId=SKILL_ID, LogRetentionInDays="14")
    (name, group), *_ = of_type(cfn, "AWS::Logs::LogGroup").items()
    assert group["Properties"]["RetentionInDays"] == "14"
    logging = cfn["Resources"]["SkillFunction"]["Properties"]["LoggingConfig"]
    assert logging["LogGroup"] == {"Ref": name}
    assert logging["LogFormat"] == "JSON"
    assert translate(monkeypatch, AlexaSkillId=SKILL_ID)["Resources"][name]["Properties"]["RetentionInDays"] == 30


def test_the_role_reads_that_one_secret_and_nothing_else(monkeypatch):
    cfn = translate(monkeypatch, AlexaSkillId=SKILL_ID, PushoverSecretArn=SECRET_ARN)
    props = cfn["Resources"]["SkillFunctionRole"]["Properties"]
    statements = [s for policy in props["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    secret_statements = [s for s in statements if any(a.startswith("secretsmanager:") for a in s["Action"])]
    assert secret_statements == [
        {"Action": ["secretsmanager:GetSecretValue"], "Effect": "Allow", "Resource": SECRET_ARN}
    ]
    assert all(s in secret_statements or s == receipts_statement(cfn) for s in statements)
    assert props["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
    assert cfn["Resources"]["SkillFunction"]["Properties"]["Environment"]["Variables"]["PUSHOVER_SECRET_ID"] == (
        SECRET_ARN
    )


def test_without_a_secret_the_role_reads_no_secret(monkeypatch):
    cfn = translate(monkeypatch, AlexaSkillId=SKILL_ID)
    props = cfn["Resources"]["SkillFunctionRole"]["Properties"]
    statements = [s for policy in props.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
    assert statements == [receipts_statement(cfn)]
    assert "PUSHOVER_SECRET_ID" not in cfn["Resources"]["SkillFunction"]["Properties"]["Environment"]["Variables"]


def receipts_statement(cfn: dict[str, Any]) -> dict[str, Any]:
    """The one statement on the receipts table: exactly the calls skill/receipts/dynamodb.py makes."""
    table_arn = {"Fn::GetAtt": ["ReceiptsTable", "Arn"]}
    return {
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                   "dynamodb:Query"],
        "Resource": [table_arn, {"Fn::Sub": "${ReceiptsTable.Arn}/index/recent"}],
    }  # fmt: skip


def test_receipts_go_to_a_table_that_only_this_function_may_use_and_that_prunes_itself(monkeypatch):
    cfn = translate(monkeypatch, AlexaSkillId=SKILL_ID)
    (name, table), *others = of_type(cfn, "AWS::DynamoDB::Table").items()
    assert not others and name == "ReceiptsTable"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "receipt", "KeyType": "HASH"}]
    (index,) = props["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "recent"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "prune_at", "Enabled": True}
    variables = cfn["Resources"]["SkillFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["RECEIPTS_TABLE"] == {"Ref": "ReceiptsTable"}
    role = cfn["Resources"]["SkillFunctionRole"]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    assert dynamo == [receipts_statement(cfn)]  # no Scan, no table-wide wildcard, no other table


def test_the_function_arn_is_an_output_to_paste_into_the_console(monkeypatch):
    cfn = translate(monkeypatch, AlexaSkillId=SKILL_ID)
    assert cfn["Outputs"]["SkillFunctionArn"]["Value"] == {"Fn::GetAtt": ["SkillFunction", "Arn"]}


@pytest.mark.parametrize(
    ("parameter", "value", "accepted"),
    [
        ("AlexaSkillId", SKILL_ID, True),
        ("AlexaSkillId", "", False),
        ("AlexaSkillId", "my-skill", False),
        ("PushoverSecretArn", "", True),
        ("PushoverSecretArn", SECRET_ARN, True),
        ("PushoverSecretArn", "alexa-pushover", False),  # a name: the policy needs the ARN
    ],
)
def test_parameters_refuse_values_that_cannot_work(parameter, value, accepted):
    from samtranslator.yaml_helper import yaml_parse

    spec = yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))["Parameters"][parameter]
    assert bool(re.fullmatch(spec["AllowedPattern"], value)) is accepted


def test_sam_builds_the_function_with_the_makefile_target():
    from samtranslator.yaml_helper import yaml_parse

    function = yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))["Resources"]["SkillFunction"]
    assert function["Metadata"]["BuildMethod"] == "makefile"
    assert function["Properties"]["CodeUri"] == "."  # the Makefile must sit in CodeUri
    assert re.search(r"^build-SkillFunction:", (ROOT / "Makefile").read_text(), flags=re.M)


# --------------------------------------------------------------------------- the Lambda bundle


def make_bundle(target: Path, *, python_version: str, platforms: str, python: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "make", "-s", "-C", str(ROOT), "build-SkillFunction", f"ARTIFACTS_DIR={target}",
            f"PYTHON={sys.executable}", f"LAMBDA_PYTHON={python}", f"LAMBDA_PYTHON_VERSION={python_version}",
            f"LAMBDA_PIP_PLATFORM={platforms}",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def host_bundle(tmp_path_factory):
    """What `sam build` makes, but with wheels for this machine, so that it can run here."""
    target = tmp_path_factory.mktemp("bundle") / "SkillFunction"
    machine = platform.machine()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    done = make_bundle(
        target, python_version=version, python=sys.executable,
        platforms=f"manylinux2014_{machine} manylinux_2_28_{machine}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return target


@pytest.mark.slow
def test_the_bundle_holds_the_skill_and_its_runtime_requirements_only(host_bundle):
    top = {p.name for p in host_bundle.iterdir()}
    assert {"skill", "intents.yaml", "ask_sdk_core", "jinja2", "yaml", "requests", "certifi"} <= top
    assert not {name.lower() for name in top} & WEB_ONLY
    assert not top & {"tests", "bench", "docs", ".venv", ".git", "Makefile", "template.yaml", "bin"}
    assert (host_bundle / "intents.yaml").read_bytes() == (ROOT / "intents.yaml").read_bytes()


@pytest.mark.slow
def test_the_bundle_ships_bytecode_that_lambda_uses_without_checking_sources(host_bundle):
    tag = sys.implementation.cache_tag
    pyc = host_bundle / "skill" / "__pycache__" / f"lambda_function.{tag}.pyc"
    flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, unchecked: a zip's timestamps cannot make it stale


@pytest.mark.slow
def test_the_handler_runs_from_the_bundle_alone(host_bundle, fake_pushover):
    code = f"""
import json, sys
sys.path.insert(0, {str(host_bundle)!r})
from skill import lambda_function
from skill.alexa import build_request_envelope as envelope
assert lambda_function._runtime is not None  # built while importing, as in Lambda's INIT
answers = [
    lambda_function.handler(envelope(kind, intent, slots, application_id={SKILL_ID!r}), None)
    for kind, intent, slots in [("LaunchRequest", None, None), ("IntentRequest", "LocateIntent", {{"User": "Paulus"}}),
                                ("SessionEndedRequest", None, None)]
]
files = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
outside = sorted(f for f in files if f.startswith("/") and not f.startswith({str(host_bundle)!r})
                 and not f.startswith(sys.base_prefix))
print(json.dumps({{"answers": answers, "outside": outside, "modules": sorted(sys.modules)}}))
"""
    env = {
        "PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_FUNCTION_NAME": "skill", "ALEXA_SKILL_ID": SKILL_ID,
        "PUSHOVER_TOKEN": TOKEN, "PUSHOVER_USER": USER, "PUSHOVER_API_URL": fake_pushover.url,
    }  # fmt: skip
    # -I -S: no site-packages, no working directory, no PYTHON* variables: the standard library and the bundle.
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, env=env, cwd="/", timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    launch, locate, ended = result["answers"]
    assert "Family notes here." in launch["response"]["outputSpeech"]["ssml"]
    assert "OK, I asked Paulus" in locate["response"]["outputSpeech"]["ssml"]
    assert ended["response"] == {}
    (sent,) = fake_pushover.requests_to("messages")
    assert sent.form["message"] == "The location of Paulus has been queried via Alexa."
    assert result["outside"] == []
    assert not {m.split(".")[0] for m in result["modules"]} & (WEB_ONLY | {"boto3", "botocore"})


@pytest.mark.slow
def test_every_requirement_has_a_wheel_for_lambda_arm64_python_313(tmp_path):
    target = tmp_path / "SkillFunction"
    done = make_bundle(
        target, python_version="3.13", python="no-such-python3.13",
        platforms="manylinux2014_aarch64 manylinux_2_28_aarch64",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    extensions = [p.name for p in target.rglob("*.so")]
    assert any(name.startswith("_yaml.cpython-313-aarch64") for name in extensions)
    assert all("aarch64" in name for name in extensions)
    assert not list(target.rglob("__pycache__"))
    assert "the bundle has no bytecode" in done.stderr  # the build says what a cold start will cost


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, backslash continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, args = whole.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return dockerfile_instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def args_of(instructions: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for kw, args in instructions if kw == keyword]


def exec_form(args: str) -> list[str]:
    argv = json.loads(args)
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), args
    return argv


def test_the_dockerfile_parses_into_known_instructions(dockerfile):
    known = {"FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "VOLUME", "EXPOSE", "HEALTHCHECK", "CMD", "ARG", "LABEL"}
    assert dockerfile[0][0] == "FROM"
    assert {kw for kw, _ in dockerfile} <= known


def test_the_base_image_is_pinned_to_a_patch_release_and_a_debian_release(dockerfile):
    for image in args_of(dockerfile, "FROM"):
        name = image.split()[0]
        assert re.fullmatch(r"python:3\.13\.\d+-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?", name), name
        assert "latest" not in name


def test_the_app_runs_as_a_user_that_is_not_root(dockerfile):
    users = args_of(dockerfile, "USER")
    assert users, "no USER: the app would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    last_user = max(i for i, (kw, _) in enumerate(dockerfile) if kw == "USER")
    assert all(kw not in {"RUN", "COPY"} for kw, _ in dockerfile[last_user:]), "steps after USER run as that user"


def test_pip_keeps_no_cache_and_only_project_files_are_copied(dockerfile):
    installs = [args for args in args_of(dockerfile, "RUN") if "pip install" in args]
    assert installs and all("--no-cache-dir" in args for args in installs)
    sources = [args.split()[:-1] for args in args_of(dockerfile, "COPY")]
    assert sorted(s for group in sources for s in group) == ["intents.yaml", "requirements.txt", "skill/"]
    for source in ("intents.yaml", "requirements.txt", "skill/lambda_function.py", "skill/web.py"):
        assert not dockerignored(source), f"{source} is copied but .dockerignore leaves it out"


def test_the_command_is_the_production_server_on_port_5000(dockerfile):
    (cmd,) = args_of(dockerfile, "CMD")
    expected = ["python", "-m", "skill", "serve", "--host", "0.0.0.0", "--port", "5000"]  # noqa: S104 (in the container)
    assert exec_form(cmd) == expected
    assert args_of(dockerfile, "EXPOSE") == ["5000"]


def test_the_outbox_is_on_a_volume(dockerfile):
    env = " ".join(args_of(dockerfile, "ENV"))
    outbox = re.search(r"OUTBOX_PATH=(\S+)", env)
    assert outbox is not None
    volumes = [v for args in args_of(dockerfile, "VOLUME") for v in exec_form(args)]
    assert any(outbox.group(1).startswith(volume.rstrip("/") + "/") for volume in volumes)


def healthcheck_argv(dockerfile: list[tuple[str, str]]) -> list[str]:
    (check,) = args_of(dockerfile, "HEALTHCHECK")
    options, _, command = check.partition("CMD ")
    assert re.search(r"--timeout=\d+s", options) and re.search(r"--interval=\d+s", options)
    return exec_form(command)


def test_the_healthcheck_asks_healthz_with_python(dockerfile):
    argv = healthcheck_argv(dockerfile)
    assert argv[0] == "python"  # slim images have no curl
    assert "http://127.0.0.1:5000/healthz" in argv[-1]


# --------------------------------------------------------------------------- .dockerignore


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """(excludes, pattern) per line, Docker's way: last match wins, `!` re-includes, `**` spans directories."""
    rules = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        regex = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?|\[[^]]*\])", pattern):
            regex += {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part) or (
                part if part.startswith("[") else re.escape(part)
            )
        rules.append((not negated, re.compile(regex)))
    return rules


def dockerignored(path: str) -> bool:
    parts = path.strip("/").split("/")
    excluded = False
    for excludes, regex in dockerignore_rules():
        # A pattern that matches a parent directory covers everything inside it.
        if any(regex.fullmatch("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            excluded = excludes
    return excluded


@pytest.mark.parametrize(
    "path",
    [".venv/bin/python", "tests/test_deploy.py", ".git/HEAD", "bench/results.json", ".env", ".aws-sam/build.toml",
     "skill/__pycache__/web.cpython-313.pyc", "outbox.sqlite3", ".pytest_cache/v/cache/lastfailed", "docs/deploy.md"],
)  # fmt: skip
def test_dockerignore_keeps_the_build_context_small_and_secret_free(path):
    assert dockerignored(path)


@pytest.mark.parametrize("path", ["requirements.txt", "intents.yaml", "skill/__init__.py", "skill/web.py"])
def test_dockerignore_lets_the_image_sources_through(path):
    assert not dockerignored(path)


# --------------------------------------------------------------------------- the image's command, run here


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("skill.web") is None, reason="skill.web (the web service) is not there")
def test_the_image_command_serves_and_its_healthcheck_passes(dockerfile, tmp_path):
    (cmd,) = args_of(dockerfile, "CMD")
    argv = exec_form(cmd)
    # This interpreter instead of the image's python; loopback and a free port instead of 0.0.0.0:5000.
    argv = [sys.executable, *argv[1:]]
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = "0"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHOVER_", "ALEXA_", "INTENT_", "OUTBOX_"))}
    env.update(OUTBOX_PATH=str(tmp_path / "outbox.sqlite3"), PUSHOVER_API_URL="http://127.0.0.1:9/1")
    server = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    reader: threading.Thread | None = None
    try:
        port, reader = wait_for_port(server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            health = json.load(answer)
        assert health["status"] == "ok" and health["intents"] == 5
        check = healthcheck_argv(dockerfile)
        check = [sys.executable, *check[1:-1], check[-1].replace("127.0.0.1:5000", f"127.0.0.1:{port}")]
        assert subprocess.run(check, timeout=10).returncode == 0
        server.send_signal(signal.SIGTERM)  # what `docker stop` sends
        assert server.wait(timeout=15) == 0
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()
        if reader is not None:
            reader.join(timeout=5)
        assert server.stderr is not None
        server.stderr.close()


def wait_for_port(server: subprocess.Popen) -> tuple[int, threading.Thread]:
    """Read the server's log until it says where it listens (20 s at most); the reader keeps draining it."""
    found: list[int] = []
    lines: list[str] = []

    def read() -> None:
        assert server.stderr is not None
        for line in server.stderr:
            lines.append(line)
            match = re.search(r"serving http://127\.0\.0\.1:(\d+)/alexa", line)
            if match and not found:
                found.append(int(match.group(1)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 20
    while not found and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert found, "".join(lines)
    return found[0], reader
