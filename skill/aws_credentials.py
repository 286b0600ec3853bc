"""Pushover credentials from AWS for the Lambda handler: a Secrets Manager secret or SSM parameters.

boto3 ships with the Lambda runtime and is imported only when a client is made (``create_aws_client``).
No value ever reaches a log line or an error: the messages name the variable, secret or parameter.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

# The Lambda handler's log lines keep its name, wherever their code lives.
logger = logging.getLogger("skill.lambda_function")

#: A Secrets Manager secret (name or ARN) holding ``{"token": …, "user": …}``.
SECRET_ID_VAR: Final = "PUSHOVER_SECRET_ID"  # noqa: S105 (the variable that names it)
#: SSM parameters (SecureString) holding one credential each.
PARAMETER_VARS: Final = {"PUSHOVER_TOKEN": "PUSHOVER_TOKEN_PARAMETER", "PUSHOVER_USER": "PUSHOVER_USER_PARAMETER"}
#: Short key names accepted in the secret, for the variables they stand for.
SECRET_ALIASES: Final = {"token": "PUSHOVER_TOKEN", "user": "PUSHOVER_USER"}
#: Reads at cold start must leave most of the function's 7 s to the request itself.
AWS_CONNECT_TIMEOUT_S: Final = 1.0
AWS_READ_TIMEOUT_S: Final = 2.0
#: Attempts in all, the first one included.
AWS_MAX_ATTEMPTS: Final = 2

_ENV_NAME_RE: Final = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_MAX_REASON_CHARS: Final = 300


def create_aws_client(service_name: str) -> Any:
    """A boto3 client with short timeouts (boto3 ships with the Lambda runtime and is not a requirement)."""
    import boto3
    from botocore.config import Config

    # botocore logs whole response bodies at DEBUG: the secret's value would be among them.
    botocore_log = logging.getLogger("botocore")
    botocore_log.setLevel(max(botocore_log.level, logging.INFO))
    config = Config(
        connect_timeout=AWS_CONNECT_TIMEOUT_S,
        read_timeout=AWS_READ_TIMEOUT_S,
        retries={"total_max_attempts": AWS_MAX_ATTEMPTS, "mode": "standard"},
    )
    return boto3.client(service_name, config=config)


class CredentialReadError(Exception):
    """A secret or parameter could not be read; the message is safe to log (it holds no value)."""


@dataclass
class CredentialLookup:
    """Credentials read from AWS, as the environment variables they stand for."""

    values: dict[str, str] = field(default_factory=dict, repr=False)
    sources: dict[str, str] = field(default_factory=dict)
    #: True when a named secret or parameter could not be read.
    failed: bool = False


def read_credentials(environ: Mapping[str, str], factory: Callable[[str], Any]) -> CredentialLookup:
    """Read the secret named by ``PUSHOVER_SECRET_ID`` and the SSM parameters named by ``*_PARAMETER``.

    Each credential comes from the first source that has it: the secret, then its parameter, then
    the plain environment variable (which the caller keeps). A failure is logged with its reason.
    """
    lookup = CredentialLookup()
    secret_id = environ.get(SECRET_ID_VAR, "").strip()
    if secret_id:
        try:
            values = _read_secret(make_client(factory, "secretsmanager"), secret_id)
        except CredentialReadError as err:
            logger.error("cannot read the secret %s=%s: %s", SECRET_ID_VAR, secret_id, err)
            lookup.failed = True
        else:
            lookup.values.update(values)
            lookup.sources.update(dict.fromkeys(values, f"secret {secret_id}"))
            for alias, var in SECRET_ALIASES.items():
                if var not in values and not environ.get(PARAMETER_VARS[var], "").strip():
                    logger.warning("the secret %s has no %r key (nor %s)", secret_id, alias, var)
    ssm = None
    for var, parameter_var in PARAMETER_VARS.items():
        name = environ.get(parameter_var, "").strip()
        if not name or var in lookup.values:
            continue
        try:
            ssm = ssm or make_client(factory, "ssm")
            lookup.values[var] = _read_parameter(ssm, name)
        except CredentialReadError as err:
            logger.error("cannot read the parameter %s=%s: %s", parameter_var, name, err)
            lookup.failed = True
        else:
            lookup.sources[var] = f"parameter {name}"
    return lookup


def make_client(factory: Callable[[str], Any], service_name: str) -> Any:
    """A client from ``factory``; CredentialReadError (its message safe to log) when none can be made."""
    try:
        return factory(service_name)
    except Exception as err:  # no boto3 outside Lambda, no region, …
        raise CredentialReadError(f"no {service_name} client: {_reason(err)}") from err


def _read_secret(client: Any, secret_id: str) -> dict[str, str]:
    try:
        answer = client.get_secret_value(SecretId=secret_id)
    except Exception as err:  # botocore's errors, and any stand-in's
        raise CredentialReadError(_reason(err)) from err
    text = answer.get("SecretString")
    if not isinstance(text, str):
        raise CredentialReadError("the secret has no SecretString (binary secrets are not read)")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise CredentialReadError('the secret is not a JSON object like {"token": "…", "user": "…"}')
    values: dict[str, str] = {}
    for key, value in data.items():
        name = SECRET_ALIASES.get(key, key)
        if not isinstance(value, str) or not _ENV_NAME_RE.match(name):
            logger.warning("the secret %s: key %r ignored (keys are token, user or variable names; values text)",
                           secret_id, key)  # fmt: skip
        elif value.strip():
            values[name] = value.strip()
    return values


def _read_parameter(client: Any, name: str) -> str:
    try:
        answer = client.get_parameter(Name=name, WithDecryption=True)
        value = answer["Parameter"]["Value"]
    except Exception as err:  # botocore's errors, a malformed answer
        raise CredentialReadError(_reason(err)) from err
    if not isinstance(value, str) or not value.strip():
        raise CredentialReadError("the parameter is empty")
    return value.strip()


def _reason(err: Exception) -> str:
    """botocore's message names the error code, the operation and the resource; never a value."""
    text = " ".join(f"{type(err).__name__}: {err}".split())
    return text if len(text) <= _MAX_REASON_CHARS else text[:_MAX_REASON_CHARS] + "…"
