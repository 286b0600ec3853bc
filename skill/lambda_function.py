"""AWS Lambda entry point: ``skill.lambda_function.handler`` (template.yaml, docs/deploy.md).

The event is the Alexa request envelope and the return value the response envelope, made by
the same skill object the web service and ``simulate`` use (``alexa.parse_envelope`` and
``alexa.invoke``).

Everything is built once per execution environment: settings, the Pushover credentials (from
the environment, a Secrets Manager secret or SSM parameters; boto3 is imported only when one is
named), the intent map bundled beside the package (pre-validated by ``make build-SkillFunction``,
skill/bundle.py) and the skill. On Lambda the build runs while this module is imported, in the
INIT phase: AWS gives on-demand functions a full vCPU there whatever their memory size, and with
provisioned concurrency INIT runs before any request arrives. Anywhere else, importing stays
light and the first call builds. What only some requests need comes when first needed: the HTTP
session (and ``requests``) with the first send, a template's compiled code (and Jinja) with its
first render, so a LaunchRequest pays for neither.

Decisions:

- A request for another skill (``ALEXA_SKILL_ID``) or a payload that is not an Alexa request
  raises: Lambda records a function error, Alexa says its own error message, nothing is sent. The
  AlexaSkill trigger's ``EventSourceToken`` already keeps other skills out; this is the second
  lock, and the one that holds when the function is invoked some other way.
- A missing credential or a secret that cannot be read is heard as "this skill is not set up
  yet", and the log names the variable, secret or parameter. A broken intent map or environment
  value is heard as "something went wrong" and logged with its position. Only a failed read is
  tried again (after ``CREDENTIAL_RETRY_S``): the environment and the bundle cannot change during
  the life of an execution environment.
- No outbox: nothing runs between invocations, so a transient Pushover failure is heard as
  "not sent, try again later" (or, when the send may have reached Pushover without an answer,
  "may not have arrived").
- The same deadline as the web service (skill.deadline): the answer leaves within 6.5 s of the
  invocation, or sooner when the function's own remaining time (``context``) is shorter.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from . import const
from .aws_credentials import AWS_MAX_ATTEMPTS as AWS_MAX_ATTEMPTS
from .aws_credentials import (
    PARAMETER_VARS,
    SECRET_ID_VAR,
    CredentialReadError,
    create_aws_client,
    make_client,
    read_credentials,
)
from .aws_credentials import SECRET_ALIASES as SECRET_ALIASES
from .aws_credentials import CredentialLookup as CredentialLookup
from .config import load_settings
from .deadline import ANSWER_RESERVE_S, Deadline
from .errors import ConfigError
from .logs import RedactSecrets
from .phrases import counted, phrase
from .request_check import check_application_id

if TYPE_CHECKING:
    from ask_sdk_core.skill import CustomSkill

    from .receipts import ReceiptBook
    from .service import Service

logger = logging.getLogger(__name__)

# The credential reads live in skill.aws_credentials; AWS_MAX_ATTEMPTS, SECRET_ALIASES and CredentialLookup
# are imported from there (``X as X``) so that ``skill.lambda_function.X`` keeps working.

#: The DynamoDB table of emergency receipts (template.yaml's ReceiptsTable).
RECEIPTS_TABLE_VAR: Final = "RECEIPTS_TABLE"
#: ``1`` renders and logs notifications without sending them.
DRY_RUN_VAR: Final = "DRY_RUN"
#: A secret or parameter that could not be read is read again on the first request after this.
CREDENTIAL_RETRY_S: Final = 60.0
#: Kept back from the function's remaining time, for Lambda to hand the answer on.
LAMBDA_RESERVE_S: Final = 0.5

#: Makes the Secrets Manager and SSM clients; tests put a stand-in here.
client_factory: Callable[[str], Any] = create_aws_client


# --------------------------------------------------------------------------- the cold start


@dataclass
class Runtime:
    """What one execution environment builds once: the skill, or the reason it cannot run."""

    skill: CustomSkill | None
    skill_id: str | None
    service: Service | None = None
    #: Why the skill cannot run (``skill`` is None); logged on every request.
    problem: str | None = None
    #: ``time.monotonic()`` after which a failed credential read is tried again.
    rebuild_after: float | None = None

    def stale(self) -> bool:
        """True when a credential read failed and its retry time has come."""
        return self.rebuild_after is not None and time.monotonic() >= self.rebuild_after

    def handle(self, event: Mapping[str, Any], deadline: Deadline | None = None) -> dict[str, Any]:
        """One envelope through the skill; raises for another skill id or a non-Alexa payload."""
        from .alexa import invoke, parse_envelope  # built already; importing here keeps this module light

        envelope = parse_envelope(event)
        check_application_id(envelope, self.skill_id)
        if self.skill is None:
            logger.error("cannot run: %s", self.problem)
            return broken_response(envelope)
        return invoke(self.skill, envelope, deadline=deadline).response

    def close(self) -> None:
        """Release the HTTP sessions."""
        if self.service is not None:
            self.service.close()


def default_intent_map() -> str:
    """``intents.yaml`` beside the package (the root of the Lambda bundle), else in the working directory."""
    bundled = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), const.DEFAULT_INTENT_MAP)
    here = os.path.join(os.getcwd(), const.DEFAULT_INTENT_MAP)
    return here if not os.path.isfile(bundled) and os.path.isfile(here) else bundled


def build_runtime(environ: Mapping[str, str] | None = None, *, factory: Callable[[str], Any] | None = None) -> Runtime:
    """Build the skill from the environment; a configuration problem is logged and heard, never raised."""
    start = time.perf_counter()
    from .alexa import build_skill  # the ASK SDK loads here; Jinja, YAML and requests only when needed
    from .bundle import load_bundled_map
    from .service import Service

    env = dict(os.environ if environ is None else environ)
    skill_id = env.get("ALEXA_SKILL_ID", "").strip() or None
    if skill_id is None:
        logger.warning("ALEXA_SKILL_ID is not set: requests for any skill id are accepted")
    lookup = read_credentials(env, factory or client_factory)
    _protect_logs(env, [*lookup.values.values(), env.get("PUSHOVER_TOKEN"), env.get("PUSHOVER_USER")])
    try:
        dry_run = _flag(env, DRY_RUN_VAR)
        settings = load_settings(
            {**env, **lookup.values},
            intent_map_path=env.get("INTENT_MAP", "").strip() or default_intent_map(),
            dry_run=dry_run,
            dry_run_requested=dry_run,
        )
        imap = load_bundled_map(settings.intent_map_path)  # pre-validated by the build, else validated now
    except ConfigError as err:
        for problem in err.problems:
            logger.error("cannot run: %s", problem)
        return Runtime(None, skill_id, problem=str(err.problems[0]))
    for warning in imap.warnings:  # a warning stays a warning: logged at the cold start
        logger.warning("%s", warning)
    service = Service(imap, settings, outbox=None)
    for line in service.setup_warnings():
        logger.warning("%s", line)
    try:
        service.receipts = _receipt_book(env, service, factory or client_factory)
    except ConfigError as err:
        logger.error("cannot run: %s", err)
        service.close()
        return Runtime(None, skill_id, problem=str(err))
    missing = settings.missing_credentials
    if missing and not settings.dry_run:
        secret_id = env.get(SECRET_ID_VAR, "").strip()
        where = " and ".join(f"{v} or {PARAMETER_VARS[v]}" for v in missing)
        hint = f"neither the secret {secret_id} nor the environment has it" if secret_id else f"set {where}"
        logger.error("not configured: %s missing; %s", " and ".join(missing), hint)
    logger.info(
        "cold start: %s from %s; %s; dry run %s; built in %.0f ms",
        counted(len(imap.intents), "intent"), imap.path,
        ", ".join(f"{v} {'missing' if v in missing else 'from ' + lookup.sources.get(v, 'environment')}"
                  for v in PARAMETER_VARS),
        "on" if settings.dry_run else "off", (time.perf_counter() - start) * 1000,
    )  # fmt: skip
    retry = time.monotonic() + CREDENTIAL_RETRY_S if lookup.failed else None
    return Runtime(build_skill(service), skill_id, service, rebuild_after=retry)


def _receipt_book(env: Mapping[str, str], service: Service, factory: Callable[[str], Any]) -> ReceiptBook | None:
    """Receipts in the DynamoDB table ``RECEIPTS_TABLE`` (none without it); acknowledgements are polled."""
    table = env.get(RECEIPTS_TABLE_VAR, "").strip()
    if not table and not service.settings.timezone:
        return None  # no receipts and no zone to check: the receipts code is not loaded
    from .receipts.speech import load_zone

    zone = load_zone(service.settings.timezone)  # a wrong TIMEZONE is refused, table or not
    if not table:
        return None
    from .receipts import ReceiptBook
    from .receipts.dynamodb import DynamoReceiptStore

    try:
        client = make_client(factory, "dynamodb")
    except CredentialReadError as err:
        logger.error("emergency receipts are not kept: %s", err)
        return None
    return ReceiptBook(
        DynamoReceiptStore(client, table),
        client=service.client,
        credentials_for=service.credentials_for,
        name_for_user_key=service.name_for_user_key,
        zone=zone,
    )


def broken_response(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The answer when the skill could not be built: "something went wrong" (nothing for SessionEndedRequest)."""
    request = envelope["request"]
    if request["type"] == "SessionEndedRequest":
        return {"version": "1.0", "response": {}}
    from .render import escape_ssml

    speech = escape_ssml(phrase(request.get("locale"), "error"))
    return {
        "version": "1.0",
        "response": {"outputSpeech": {"type": "SSML", "ssml": f"<speak>{speech}</speak>"}, "shouldEndSession": True},
    }


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in {"", "0", "false", "no", "off"}:
        return False
    if raw in {"1", "true", "yes", "on"}:
        return True
    raise ConfigError(f"{name} must be 0 or 1, not {env[name]!r}")


_redaction: RedactSecrets | None = None


def _protect_logs(env: Mapping[str, str], secrets: list[str | None]) -> None:
    """On Lambda: INFO lines shown, and secrets redacted by the runtime's own log handler."""
    global _redaction
    if not env.get("AWS_LAMBDA_FUNCTION_NAME"):
        return  # the CLI and the web service set up logging themselves (skill.logs)
    root = logging.getLogger()
    if not env.get("AWS_LAMBDA_LOG_LEVEL"):  # set by the function's LoggingConfig (template.yaml)
        root.setLevel(logging.INFO)
    redaction = RedactSecrets(secrets)
    for handler in root.handlers:
        if _redaction is not None:
            handler.removeFilter(_redaction)
        handler.addFilter(redaction)
    _redaction = redaction


# --------------------------------------------------------------------------- the handler

_runtime: Runtime | None = None
_lock = threading.Lock()


def get_runtime() -> Runtime:
    """This execution environment's runtime, built on first use (and again after a failed credential read)."""
    global _runtime
    with _lock:
        if _runtime is None or _runtime.stale():
            old, _runtime = _runtime, build_runtime()
            if old is not None:
                old.close()
        return _runtime


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """The Lambda handler: an Alexa request envelope in, the response envelope out."""
    deadline = deadline_for(context)
    return get_runtime().handle(event, deadline)


def deadline_for(context: object) -> Deadline:
    """The request's deadline: 6.5 s from now less the reserve, or sooner if the function must end sooner."""
    deadline = Deadline.for_request()
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining_ms):
        try:
            left = float(remaining_ms()) / 1000 - LAMBDA_RESERVE_S - ANSWER_RESERVE_S
        except (TypeError, ValueError):
            return deadline
        if left < deadline.remaining():
            return Deadline.after(max(0.0, left))
    return deadline


def _reset_for_tests() -> None:
    """Forget the cold start, as a new execution environment would."""
    global _runtime, _redaction
    with _lock:
        if _runtime is not None:
            _runtime.close()
        _runtime = None
        if _redaction is not None:
            for log_handler in logging.getLogger().handlers:
                log_handler.removeFilter(_redaction)
            _redaction = None


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # INIT: a full vCPU and, with provisioned concurrency, no one waiting (module docstring).
    # A map (or setting) that `check` refuses fails INIT, as `serve` refuses to start: the log above
    # names each problem's file:line:col, and Lambda reports the failed INIT instead of serving.
    _problem = get_runtime().problem
    if _problem is not None:
        raise ConfigError(f"cannot start: {_problem}")
