"""The HTTP side of the client: the session, the answer or failure as a PushoverError, secrets redacted.

See skill.pushover's docstring for the table of failures and what each becomes.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from ..config import Credentials, mask
from ..errors import (
    PermanentError,
    PushoverConnectionError,
    PushoverError,
    PushoverTimeoutError,
    QuotaExceededError,
    TransientError,
)
from .message import str_or_none

if TYPE_CHECKING:
    import requests


#: Kept-alive connections to the API; as many as calls that may run at once.
MAX_CONNECTIONS: Final = 128

_QUERY_SECRET_RE: Final = re.compile(r"\b(token|user)=[^&\s\"']+")


def names_proxy_or_ca(environ: Mapping[str, str]) -> bool:
    """True when the environment names a proxy or a CA bundle (which requests would read)."""
    return any(name.lower().endswith("_proxy") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") for name in environ)


def session_for(api_url: str) -> requests.Session:
    """A session that reads the proxy and CA-bundle variables once, not on every request.

    With ``trust_env`` on, requests re-reads the environment and ~/.netrc for each call (a
    tenth of a millisecond or more, on the path a person waits on); the API never changes.
    """
    import requests

    session = requests.Session()
    # Sends of several requests run at once (skill.dispatch): one kept connection for each.
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=MAX_CONNECTIONS)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.proxies.update(requests.utils.get_environ_proxies(api_url))
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if ca_bundle:
        session.verify = ca_bundle
    session.trust_env = False
    return session


def check_response(response: requests.Response, what: str, secrets: Sequence[str]) -> dict[str, Any]:
    """The JSON body of a successful answer, or the PushoverError that the answer means."""
    status = response.status_code
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    raw_errors = body.get("errors")
    errors = [redact(str(e), secrets) for e in raw_errors] if isinstance(raw_errors, list) else []
    request_id = str_or_none(body.get("request"))
    detail = "; ".join(errors) or f"HTTP {status}"
    suffix = f" (HTTP {status}, request {request_id})" if request_id else f" (HTTP {status})"

    def make(cls: type[PushoverError], text: str) -> PushoverError:
        return cls(redact(text, secrets), status=status, errors=errors, request_id=request_id)

    if status == 429:
        raise make(QuotaExceededError, f"Pushover's monthly message limit is spent: {detail}{suffix}")
    if 400 <= status < 500:
        raise make(PermanentError, f"Pushover refused {what}: {detail}{suffix}")
    if status >= 500:
        raise make(TransientError, f"Pushover failed on {what}: {detail}{suffix}")
    if 300 <= status < 400:
        location = response.headers.get("Location", "?")
        raise make(PermanentError, f"Pushover redirected {what} to {location}; check PUSHOVER_API_URL{suffix}")
    if not body:
        garbled = TransientError(
            redact(f"Pushover answered {what} with something that is not JSON{suffix}", secrets), status=status
        )
        garbled.maybe_delivered = True  # something answered: Pushover may have queued the message
        raise garbled
    if body.get("status") != 1:
        raise make(PermanentError, f"Pushover refused {what}: {detail}{suffix}")
    return body


def translate_failure(err: requests.RequestException, what: str, idempotent: bool) -> tuple[PushoverError, bool]:
    """The PushoverError for a failure without an answer, and whether one retry is safe."""
    import requests
    from urllib3.exceptions import NameResolutionError, NewConnectionError, ReadTimeoutError

    reason = err.args[0] if err.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the real cause
    error: PushoverError
    retry_safe = False
    if isinstance(
        err, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema | requests.exceptions.InvalidSchema
    ):
        error = PermanentError(f"the Pushover API URL is not usable for {what}; check PUSHOVER_API_URL")
    elif isinstance(err, requests.ConnectTimeout):
        error = PushoverConnectionError(f"no connection to Pushover for {what} within the connect timeout")
    elif isinstance(err, requests.ReadTimeout) or isinstance(reason, ReadTimeoutError):
        error = PushoverTimeoutError(f"no answer from Pushover to {what} within the read timeout")
    elif isinstance(err, requests.exceptions.SSLError):
        error = PushoverConnectionError(f"TLS with Pushover failed for {what}")
    elif isinstance(err, requests.exceptions.ProxyError):
        error = PushoverConnectionError(f"the proxy refused the connection to Pushover for {what}")
    elif isinstance(reason, NameResolutionError):
        error = PushoverConnectionError(f"the Pushover host name did not resolve for {what}")
    elif isinstance(reason, NewConnectionError):
        error = PushoverConnectionError(f"the connection to Pushover was refused for {what}")
        retry_safe = True  # nothing was sent, and a refusal costs no time
    else:
        dropped = TransientError(f"the connection to Pushover dropped before an answer to {what}")
        dropped.maybe_delivered = True  # the request went out; only its answer is missing
        error, retry_safe = dropped, idempotent
    return error, retry_safe


def safe_cause(err: BaseException, secrets: Sequence[str]) -> BaseException:
    """``err``, or a redacted copy when its chain mentions a secret (e.g. a URL with ``?token=``)."""
    chain: list[BaseException] = []
    link: BaseException | None = err
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    if not any(redact(repr(e), secrets) != repr(e) for e in chain):
        return err
    try:
        clean = type(err)(redact(str(err), secrets))
    except Exception:
        import requests

        clean = requests.RequestException(redact(str(err), secrets))
    clean.__suppress_context__ = True
    return clean.with_traceback(err.__traceback__)


def secrets_of(credentials: Credentials) -> tuple[str, ...]:
    parts = [credentials.token, credentials.user, *credentials.user.split(",")]
    return tuple(sorted({p.strip() for p in parts if p and p.strip()}, key=len, reverse=True))


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, mask(secret))
    return _QUERY_SECRET_RE.sub(r"\1=<redacted>", text)


class _RedactQuerySecrets(logging.Filter):
    """Hide ``token=``/``user=`` query values in urllib3's DEBUG request lines (GET sounds.json?token=…)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _QUERY_SECRET_RE.sub(r"\1=<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_log_filter() -> None:
    pool_log = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactQuerySecrets) for f in pool_log.filters):
        pool_log.addFilter(_RedactQuerySecrets())


install_log_filter()
