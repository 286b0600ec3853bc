"""The Lambda handler: real envelopes in, Alexa responses out, Pushover at the fake server.

Credentials come from the environment and from stand-ins for the Secrets Manager and SSM clients;
every test starts from a fresh cold start (``_reset_for_tests``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from skill import bundle, lambda_function
from skill.alexa import build_request_envelope
from skill.errors import InvalidRequestError, VerificationError
from skill.phrases import phrase
from tests.fake_pushover import TOKEN, USER
from tests.helpers import said

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pushover-AbCdEf"
LAMBDA_VARS = (
    "PUSHOVER_TOKEN", "PUSHOVER_USER", "PUSHOVER_API_URL", "PUSHOVER_SECRET_ID", "PUSHOVER_TOKEN_PARAMETER",
    "PUSHOVER_USER_PARAMETER", "ALEXA_SKILL_ID", "INTENT_MAP", "DRY_RUN", "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_LOG_LEVEL", "ATTACHMENT_DIRS", "LOG_FORMAT",
)  # fmt: skip
#: Modules the Lambda path must never load (DESIGN.md; the last two fail at import on OpenSSL 3).
FORBIDDEN = {"flask", "werkzeug", "waitress", "hypercorn", "certvalidator", "oscrypto"}


class AWSError(Exception):
    """Stands in for botocore's ClientError: its text names the code and operation, never a value."""


class FakeAWS:
    """A stand-in for the boto3 Secrets Manager and SSM clients; records every call."""

    def __init__(self, secrets: dict[str, Any] | None = None, parameters: dict[str, str] | None = None) -> None:
        self.secrets = dict(secrets or {})
        self.parameters = dict(parameters or {})
        self.calls: list[tuple[str, str]] = []
        self.fail: Exception | None = None

    def __call__(self, service_name: str) -> FakeAWS:
        assert service_name in {"secretsmanager", "ssm"}
        return self

    def get_secret_value(self, *, SecretId: str) -> dict[str, Any]:
        self.calls.append(("get_secret_value", SecretId))
        if self.fail is not None:
            raise self.fail
        if SecretId not in self.secrets:
            raise AWSError(f"An error occurred (ResourceNotFoundException) when calling the GetSecretValue "
                           f"operation: Secrets Manager can't find the specified secret {SecretId}")  # fmt: skip
        value = self.secrets[SecretId]
        return {"ARN": SecretId, "SecretString": value if isinstance(value, str) else json.dumps(value)}

    def get_parameter(self, *, Name: str, WithDecryption: bool) -> dict[str, Any]:
        self.calls.append(("get_parameter", Name))
        assert WithDecryption
        if self.fail is not None:
            raise self.fail
        if Name not in self.parameters:
            raise AWSError("An error occurred (ParameterNotFound) when calling the GetParameter operation: ")
        return {"Parameter": {"Name": Name, "Type": "SecureString", "Value": self.parameters[Name]}}


@pytest.fixture
def aws(monkeypatch):
    """The stand-in the module's ``client_factory`` hands out."""
    fake = FakeAWS()
    monkeypatch.setattr(lambda_function, "client_factory", fake)
    return fake


@pytest.fixture
def env(monkeypatch, fake_pushover, aws):
    """A Lambda-like environment: the skill id, Pushover at the fake, no credentials yet."""
    for name in LAMBDA_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALEXA_SKILL_ID", SKILL_ID)
    monkeypatch.setenv("PUSHOVER_API_URL", fake_pushover.url)
    lambda_function._reset_for_tests()
    yield monkeypatch
    lambda_function._reset_for_tests()


@pytest.fixture
def credentials(env):
    env.setenv("PUSHOVER_TOKEN", TOKEN)
    env.setenv("PUSHOVER_USER", USER)
    return env


def envelope(request_type: str = "IntentRequest", intent: str | None = None, slots=None, **kw: Any) -> dict:
    return build_request_envelope(request_type, intent, slots, application_id=SKILL_ID, **kw)


def locate(**kw: Any) -> dict:
    return envelope("IntentRequest", "LocateIntent", {"User": "Paulus"}, **kw)


def not_configured(locale: str = "en-US") -> str:
    return phrase(locale, "not_configured")


# --------------------------------------------------------------------------- the three request types


def test_launch_request_greets_with_the_bundled_map(credentials):
    response = lambda_function.handler(envelope("LaunchRequest"), None)
    assert said(response).startswith("Family notes here.")
    assert response["response"]["shouldEndSession"] is False


def test_locate_intent_sends_one_notification(credentials, fake_pushover):
    response = lambda_function.handler(locate(), None)
    (sent,) = fake_pushover.requests_to("messages")
    assert sent.form["message"] == "The location of Paulus has been queried via Alexa."
    assert sent.form["token"] == TOKEN
    assert said(response) == "OK, I asked Paulus's phone where it is."


def test_real_envelope_from_the_fixtures(credentials, fake_pushover):
    event = json.loads((FIXTURES / "locate_intent.json").read_text())
    response = lambda_function.handler(event, None)
    assert fake_pushover.requests_to("messages")[0].form["message"].startswith("The location of Paulus")
    assert said(response) == "OK, I asked Paulus's phone where it is."


def test_session_ended_request_gets_an_empty_response(credentials, fake_pushover):
    response = lambda_function.handler(envelope("SessionEndedRequest"), None)
    assert response["version"] == "1.0"
    assert response["response"] == {}
    assert fake_pushover.requests == []


def test_built_once_per_cold_start(credentials, fake_pushover):
    lambda_function.handler(envelope("LaunchRequest"), None)
    first = lambda_function.get_runtime()
    lambda_function.handler(locate(), None)
    lambda_function.handler(locate(), None)
    assert lambda_function.get_runtime() is first
    assert len(fake_pushover.requests_to("messages")) == 2
    assert fake_pushover.connections == 1  # one HTTP session for the life of the environment


# --------------------------------------------------------------------------- refusals


def test_another_skill_id_is_refused_and_nothing_is_sent(credentials, fake_pushover):
    other = build_request_envelope("IntentRequest", "LocateIntent", {"User": "Paulus"}, application_id="amzn1.x")
    with pytest.raises(VerificationError, match="another skill"):
        lambda_function.handler(other, None)
    assert fake_pushover.requests == []


@pytest.mark.parametrize("event", [{}, {"version": "1.0"}, {"hello": "world"}])
def test_a_payload_that_is_not_an_alexa_request_is_refused(credentials, event):
    with pytest.raises(InvalidRequestError):
        lambda_function.handler(event, None)


def test_without_a_skill_id_any_id_is_accepted_with_a_warning(credentials, caplog):
    credentials.delenv("ALEXA_SKILL_ID")
    with caplog.at_level(logging.WARNING, logger="skill.lambda_function"):
        response = lambda_function.handler(build_request_envelope("LaunchRequest", application_id="x"), None)
    assert said(response).startswith("Family notes here.")
    assert "ALEXA_SKILL_ID is not set" in caplog.text


def test_a_half_configured_notifier_is_flagged_at_cold_start(credentials, tmp_path, caplog):
    path = tmp_path / "family.yaml"
    path.write_text(
        "notifiers: {family: {token_env: FAMILY_TOKEN, user_env: FAMILY_USER}}\n"
        "intents: {A: {notify: {message: hi, notifier: family}}, B: {notify: {message: ho}}}\n",
        encoding="utf-8",
    )
    credentials.setenv("INTENT_MAP", str(path))
    credentials.setenv("FAMILY_USER", USER)
    with caplog.at_level(logging.WARNING, logger="skill.lambda_function"):
        lambda_function.handler(envelope("LaunchRequest"), None)
    assert (
        "notifier 'family' is not set up: FAMILY_TOKEN is not set, so A will answer \"This skill is not set up yet\""
    ) in caplog.text


# --------------------------------------------------------------------------- credentials


@pytest.mark.parametrize(
    "secret",
    [{"token": TOKEN, "user": USER}, {"PUSHOVER_TOKEN": TOKEN, "PUSHOVER_USER": USER}],
    ids=["short-keys", "variable-names"],
)
def test_credentials_from_secrets_manager_are_read_once(env, aws, fake_pushover, secret, caplog):
    aws.secrets[SECRET_ARN] = secret
    env.setenv("PUSHOVER_SECRET_ID", SECRET_ARN)
    with caplog.at_level(logging.DEBUG):
        lambda_function.handler(locate(), None)
        lambda_function.handler(locate(), None)
    assert aws.calls == [("get_secret_value", SECRET_ARN)]
    assert [r.form["user"] for r in fake_pushover.requests_to("messages")] == [USER, USER]
    assert f"PUSHOVER_TOKEN from secret {SECRET_ARN}" in caplog.text
    assert TOKEN not in caplog.text and USER not in caplog.text


def test_secret_keys_named_like_variables_serve_named_notifiers(env, aws, fake_pushover, tmp_path):
    imap = tmp_path / "map.yaml"
    imap.write_text(
        "notifiers:\n  kids: {token_env: KIDS_TOKEN, user_env: KIDS_USER}\n"
        "intents:\n  PingIntent:\n    notify: {notifier: kids, message: ping}\n",
        encoding="utf-8",
    )
    aws.secrets[SECRET_ARN] = {"token": "unused", "user": "unused", "KIDS_TOKEN": TOKEN, "KIDS_USER": USER}
    env.setenv("PUSHOVER_SECRET_ID", SECRET_ARN)
    env.setenv("INTENT_MAP", str(imap))
    lambda_function.handler(envelope("IntentRequest", "PingIntent"), None)
    (sent,) = fake_pushover.requests_to("messages")
    assert (sent.form["token"], sent.form["user"]) == (TOKEN, USER)


def test_credentials_from_ssm_parameters(env, aws, fake_pushover):
    aws.parameters.update({"/skill/token": TOKEN, "/skill/user": USER})
    env.setenv("PUSHOVER_TOKEN_PARAMETER", "/skill/token")
    env.setenv("PUSHOVER_USER_PARAMETER", "/skill/user")
    lambda_function.handler(locate(), None)
    lambda_function.handler(locate(), None)
    assert sorted(aws.calls) == [("get_parameter", "/skill/token"), ("get_parameter", "/skill/user")]
    assert len(fake_pushover.requests_to("messages")) == 2


def test_the_secret_wins_over_a_plain_variable(env, aws, fake_pushover):
    aws.secrets[SECRET_ARN] = {"token": TOKEN, "user": USER}
    env.setenv("PUSHOVER_SECRET_ID", SECRET_ARN)
    env.setenv("PUSHOVER_TOKEN", "aStaleTokenFromTheConsole")
    lambda_function.handler(locate(), None)
    assert fake_pushover.requests_to("messages")[0].form["token"] == TOKEN


def test_no_aws_client_without_a_named_secret(credentials, aws):
    lambda_function.handler(locate(), None)
    assert aws.calls == []


@pytest.mark.parametrize("missing", ["PUSHOVER_TOKEN", "PUSHOVER_USER"])
def test_a_missing_credential_is_named_in_the_log_and_heard_as_not_configured(
    credentials, fake_pushover, caplog, missing
):
    credentials.delenv(missing)
    with caplog.at_level(logging.INFO):
        response = lambda_function.handler(locate(), None)
    assert said(response) == not_configured()
    assert fake_pushover.requests_to("messages") == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and all(missing in message for message in errors)
    other = ({"PUSHOVER_TOKEN", "PUSHOVER_USER"} - {missing}).pop()
    assert not any(f"{other} missing" in message or f"set {other}" in message for message in errors)


def test_a_secret_without_the_user_key_says_which_key(env, aws, caplog):
    aws.secrets[SECRET_ARN] = {"token": TOKEN}
    env.setenv("PUSHOVER_SECRET_ID", SECRET_ARN)
    with caplog.at_level(logging.INFO):
        response = lambda_function.handler(locate(locale="de-DE"), None)
    assert said(response) == not_configured("de-DE")
    assert f"the secret {SECRET_ARN} has no 'user' key (nor PUSHOVER_USER)" in caplog.text
    assert "PUSHOVER_USER missing" in caplog.text


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (None, "ResourceNotFoundException"),
        ("not json", "not a JSON object"),
        (["token", "user"], "not a JSON object"),
    ],
)
def test_an_unreadable_secret_is_logged_and_heard_as_not_configured(env, aws, fake_pushover, caplog, secret, reason):
    if secret is not None:
        aws.secrets[SECRET_ARN] = secret
    env.setenv("PUSHOVER_SECRET_ID", SECRET_ARN)
    with caplog.at_level(logging.INFO):
        response = lambda_function.handler(locate(), None)
    assert said(response) == not_configured()
    assert fake_pushover.requests_to("messages") == []
    assert f"cannot read the secret PUSHOVER_SECRET_ID={SECRET_ARN}" in caplog.text
    assert reason in caplog.text


def test_a_failed_read_is_tried_again_after_the_retry_interval(env, aws, fake_pushover, monkeypatch):
    aws.secrets[SECRET_ARN] = {"token": TOKEN, "user": USER}
    aws.fail = AWSError("An error occurred (ThrottlingException) when calling the GetSecretValue operation: Rate")
    env.setenv("PUSHOVER_SECRET_ID", SECRET_ARN)
    clock = [1000.0]
    monkeypatch.setattr(lambda_function.time, "monotonic", lambda: clock[0])
    assert said(lambda_function.handler(locate(), None)) == not_configured()
    aws.fail = None
    clock[0] += lambda_function.CREDENTIAL_RETRY_S - 1
    assert said(lambda_function.handler(locate(), None)) == not_configured()  # not yet
    clock[0] += 1
    assert said(lambda_function.handler(locate(), None)) == "OK, I asked Paulus's phone where it is."
    assert len(aws.calls) == 2
    clock[0] += 10 * lambda_function.CREDENTIAL_RETRY_S
    lambda_function.handler(locate(), None)
    assert len(aws.calls) == 2  # a successful read is kept for the life of the environment


def test_an_unreadable_parameter_names_it(env, aws, caplog):
    env.setenv("PUSHOVER_TOKEN_PARAMETER", "/skill/token")
    env.setenv("PUSHOVER_USER", USER)
    with caplog.at_level(logging.INFO):
        response = lambda_function.handler(locate(), None)
    assert said(response) == not_configured()
    assert "cannot read the parameter PUSHOVER_TOKEN_PARAMETER=/skill/token: AWSError" in caplog.text


def test_no_boto3_outside_lambda_is_a_read_failure_not_a_crash(env, caplog):
    def no_boto3(service_name: str) -> None:
        raise ModuleNotFoundError("No module named 'boto3'")

    env.setattr(lambda_function, "client_factory", no_boto3)
    env.setenv("PUSHOVER_SECRET_ID", SECRET_ARN)
    with caplog.at_level(logging.ERROR):
        response = lambda_function.handler(locate(), None)
    assert said(response) == not_configured()
    assert "no secretsmanager client: ModuleNotFoundError: No module named 'boto3'" in caplog.text


# --------------------------------------------------------------------------- dry run, failures, the map


def test_without_credentials_lambda_does_not_fall_back_to_dry_run(env, fake_pushover):
    response = lambda_function.handler(locate(), None)
    assert said(response) == not_configured()


def test_dry_run_only_when_asked(env, fake_pushover):
    env.setenv("DRY_RUN", "1")
    response = lambda_function.handler(envelope("IntentRequest", "ShoppingIntent", {"Item": "milk"}), None)
    assert said(response) == "I added milk to the list. Anything else?"
    assert fake_pushover.requests == []


@pytest.mark.parametrize(
    ("name", "value", "logged"),
    [
        ("DRY_RUN", "maybe", "DRY_RUN must be 0 or 1"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE must name a time zone"),  # checked without a receipts table too
    ],
)
def test_a_bad_setting_is_logged_and_heard_as_an_error(env, caplog, name, value, logged):
    env.setenv(name, value)
    with caplog.at_level(logging.ERROR):
        response = lambda_function.handler(locate(), None)
    assert said(response) == phrase("en-US", "error")
    assert logged in caplog.text


def test_a_transient_pushover_failure_is_heard_as_not_sent(credentials, fake_pushover):
    fake_pushover.enqueue(status=503, endpoint="messages")
    response = lambda_function.handler(locate(), None)
    assert said(response) == phrase("en-US", "unavailable")
    assert len(fake_pushover.requests_to("messages")) == 1  # no outbox, no retry behind the person's back


def test_the_bundled_map_is_found_from_any_working_directory(credentials, tmp_path):
    credentials.chdir(tmp_path)
    assert lambda_function.default_intent_map() == str(ROOT / "intents.yaml")
    assert said(lambda_function.handler(envelope("LaunchRequest"), None)).startswith("Family notes here.")


def test_intent_map_overrides_the_bundled_one(credentials, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text('launch:\n  speech: "Hello from my own map."\nintents:\n  PingIntent:\n    speech: pong\n')
    credentials.setenv("INTENT_MAP", str(path))
    assert said(lambda_function.handler(envelope("LaunchRequest"), None)) == "Hello from my own map."


@pytest.mark.parametrize("request_type", ["LaunchRequest", "IntentRequest", "SessionEndedRequest"])
def test_a_broken_map_is_logged_with_its_position_and_heard_as_an_error(credentials, tmp_path, caplog, request_type):
    path = tmp_path / "broken.yaml"
    path.write_text("intents:\n  LocateIntent:\n    notify:\n      mesage: typo\n", encoding="utf-8")
    credentials.setenv("INTENT_MAP", str(path))
    with caplog.at_level(logging.ERROR):
        response = lambda_function.handler(envelope(request_type, "LocateIntent"), None)
    assert f"{path}:4:" in caplog.text
    if request_type == "SessionEndedRequest":
        assert response == {"version": "1.0", "response": {}}
    else:
        assert said(response) == phrase("en-US", "error")
        assert response["response"]["shouldEndSession"] is True


def test_on_lambda_the_runtime_log_handler_redacts_secrets(credentials, caplog):
    credentials.setenv("AWS_LAMBDA_FUNCTION_NAME", "skill")
    with caplog.at_level(logging.INFO):
        lambda_function.get_runtime()
        logging.getLogger("skill.test").warning("leaked %s", TOKEN)
    assert TOKEN not in caplog.text
    assert "leaked ***" in caplog.text


# --------------------------------------------------------------------------- import boundary and cold start


def loaded_after(code: str, *, whole_names: bool = False, as_on_lambda: bool = False, **environ: str) -> set[str]:
    """The modules loaded after ``code`` runs in a fresh interpreter (``as_on_lambda``: no proxy or CA-bundle
    variables, as on Lambda)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in LAMBDA_VARS
        and not (as_on_lambda and (k.lower().endswith("_proxy") or k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")))
    }
    env.update(environ)
    out = subprocess.run(
        [sys.executable, "-c", f"{code}; import sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, cwd=ROOT, env=env,
    ).stdout  # fmt: skip
    names = json.loads(out.splitlines()[-1])
    return set(names) if whole_names else {name.split(".")[0] for name in names}


def test_importing_the_handler_loads_nothing_heavy():
    loaded = loaded_after("import skill.lambda_function")
    assert not loaded & FORBIDDEN
    assert not loaded & {"cryptography", "boto3", "botocore", "ask_sdk_core", "jinja2", "yaml", "requests"}


def test_on_lambda_the_skill_is_built_during_init_without_the_web_stack():
    loaded = loaded_after(
        "import skill.lambda_function as m; assert m._runtime is not None and m._runtime.skill is not None",
        AWS_LAMBDA_FUNCTION_NAME="skill", PUSHOVER_TOKEN=TOKEN, PUSHOVER_USER=USER, ALEXA_SKILL_ID=SKILL_ID,
    )  # fmt: skip
    assert "ask_sdk_core" in loaded
    assert not loaded & (FORBIDDEN | {"cryptography", "boto3", "botocore"})


def test_a_launch_request_on_lambda_loads_only_what_it_needs(tmp_path):
    """As bundled (the map pre-validated): only what a greeting needs."""
    shutil.copy(ROOT / "intents.yaml", tmp_path / "intents.yaml")
    assert bundle.main([str(tmp_path / "intents.yaml")]) == 0
    event = json.dumps(envelope("LaunchRequest"))
    loaded = loaded_after(
        "import json, skill.lambda_function as m; "
        f"assert 'outputSpeech' in m.handler(json.loads({event!r}), None)['response']",
        whole_names=True, as_on_lambda=True, AWS_LAMBDA_FUNCTION_NAME="skill", PUSHOVER_TOKEN=TOKEN, PUSHOVER_USER=USER,
        ALEXA_SKILL_ID=SKILL_ID, INTENT_MAP=str(tmp_path / "intents.yaml"),
    )  # fmt: skip
    assert "skill.alexa" in loaded
    heavy = {
        "hashlib", "_hashlib", "html", "queue", "jinja2", "yaml", "requests", "urllib3",  # OpenSSL, markup, threads
        "skill.receipts", "skill.receipts.book",  # no receipts table
        "skill.pushover", "skill.attachments", "skill.delivery",  # nothing is sent
    }  # fmt: skip
    assert sorted(loaded & heavy) == []


# --------------------------------------------------------------------------- the real boto3 client


class _FakeAWSHandler(BaseHTTPRequestHandler):
    """Secrets Manager and SSM as botocore speaks to them (JSON 1.1 over POST, X-Amz-Target names the call)."""

    answers: ClassVar[dict[str, tuple[int, dict[str, Any]]]] = {}
    calls: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        target = self.headers["X-Amz-Target"]
        type(self).calls.append((target, body))
        status, answer = self.answers.get(target, (400, {"__type": "UnknownOperationException", "message": ""}))
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def aws_endpoint(env):
    """A local stand-in for the AWS endpoints, reached through boto3's own client (no stand-in client)."""
    pytest.importorskip("boto3")
    handler = type("Handler", (_FakeAWSHandler,), {"answers": {}, "calls": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    env.setattr(lambda_function, "client_factory", lambda_function.create_aws_client)
    for name, value in {
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": url, "AWS_ENDPOINT_URL_SSM": url, "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example", "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
    }.items():  # fmt: skip
        env.setenv(name, value)
    env.delenv("AWS_PROFILE", raising=False)
    yield handler
    server.shutdown()
    server.server_close()
    thread.join()


def test_boto3_reads_the_secret_with_short_timeouts(env, aws_endpoint, fake_pushover):
    aws_endpoint.answers["secretsmanager.GetSecretValue"] = (
        200, {"ARN": SECRET_ARN, "Name": "pushover", "SecretString": json.dumps({"token": TOKEN, "user": USER})},
    )  # fmt: skip
    env.setenv("PUSHOVER_SECRET_ID", SECRET_ARN)
    assert said(lambda_function.handler(locate(), None)) == "OK, I asked Paulus's phone where it is."
    assert aws_endpoint.calls == [("secretsmanager.GetSecretValue", {"SecretId": SECRET_ARN})]
    config = lambda_function.create_aws_client("secretsmanager").meta.config
    assert (config.connect_timeout, config.read_timeout) == (1.0, 2.0)
    assert config.retries["total_max_attempts"] == lambda_function.AWS_MAX_ATTEMPTS


def test_boto3_reads_ssm_parameters_decrypted(env, aws_endpoint, fake_pushover):
    aws_endpoint.answers["AmazonSSM.GetParameter"] = (200, {"Parameter": {"Name": "p", "Value": TOKEN}})
    env.setenv("PUSHOVER_TOKEN_PARAMETER", "/skill/token")
    env.setenv("PUSHOVER_USER", USER)
    lambda_function.handler(locate(), None)
    assert aws_endpoint.calls == [("AmazonSSM.GetParameter", {"Name": "/skill/token", "WithDecryption": True})]
    assert fake_pushover.requests_to("messages")[0].form["token"] == TOKEN


def test_access_denied_is_logged_with_aws_words_and_heard_as_not_configured(env, aws_endpoint, caplog):
    denied = "User: arn:aws:sts::123456789012:assumed-role/skill is not authorized to perform: GetSecretValue"
    aws_endpoint.answers["secretsmanager.GetSecretValue"] = (
        400,
        {"__type": "AccessDeniedException", "message": denied},
    )
    env.setenv("PUSHOVER_SECRET_ID", SECRET_ARN)
    with caplog.at_level(logging.ERROR):
        response = lambda_function.handler(locate(), None)
    assert said(response) == not_configured()
    assert "ClientError: An error occurred (AccessDeniedException) when calling the GetSecretValue" in caplog.text


class LambdaContext:
    """The part of Lambda's context object the handler reads."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_a_hanging_pushover_is_answered_honestly_inside_the_functions_time(credentials, fake_pushover):
    lambda_function.get_runtime()
    # Pushover answers after 3 s: inside Alexa's wait and the read timeout, but past the 2 s the function has
    # left. Only a deadline drawn from the function's time makes the answer come before Lambda kills it.
    fake_pushover.slow(3.0)
    response = lambda_function.handler(locate(), LambdaContext(remaining_ms=2000))
    assert said(response) == phrase("en-US", "unconfirmed")  # it may have gone out: no "not sent" here
    assert len(fake_pushover.requests_to("messages")) == 1


def test_the_deadline_is_the_shorter_of_alexas_and_the_functions():
    assert 5.0 < lambda_function.deadline_for(None).remaining() <= 5.5
    assert 5.0 < lambda_function.deadline_for(LambdaContext(60_000)).remaining() <= 5.5
    assert lambda_function.deadline_for(LambdaContext(2_000)).remaining() <= 0.5
    assert lambda_function.deadline_for(LambdaContext(100)).remaining() == 0.0
