"""Pushover API client on one ``requests.Session``: send, validate, sounds, receipts.

Every failure is translated in one place (:meth:`PushoverClient._call`) into the
tree of :mod:`skill.errors`:

=====================================================  =========================================
what happened                                          raised
=====================================================  =========================================
HTTP 429                                               QuotaExceededError (permanent)
any other 4xx, a 3xx, a 200 whose ``status`` is not 1  PermanentError, with ``errors``/``request_id``
5xx (JSON or an HTML error page)                       TransientError
no answer within the read timeout                      PushoverTimeoutError (``maybe_delivered``)
connection refused, connect timeout, DNS, TLS          PushoverConnectionError (not delivered)
connection dropped after the request was sent,         TransientError with ``maybe_delivered``
a 2xx whose body is not JSON
=====================================================  =========================================

A 2xx with a body that is not JSON is treated as transient and *maybe delivered*:
something answered, but we cannot tell whether Pushover queued the message. The
outbox retries it, so the notification arrives at least once; a rare duplicate is
the chosen price for never losing one.

Retries: at most one, immediately, and only where it cannot duplicate a message —
the connection was refused before a byte was sent. An idempotent call (validate,
sounds, cancel) is also retried once when the connection dropped without an answer.
Nothing is retried after a read timeout or a 5xx: the caller's outbox does that,
no sooner than ``const.MIN_RETRY_INTERVAL_S`` later.

The token and user key never appear in log records, reprs or exception messages.

``requests`` is imported, and the session opened, on the first call: a Lambda cold start whose
request sends nothing (a LaunchRequest, a help) never loads it. When the environment names a
proxy or a CA bundle, the session is opened at once, so those are read when the client is built.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

from . import const
from .config import Credentials, mask
from .errors import (
    PermanentError,
    PushoverConnectionError,
    PushoverError,
    PushoverTimeoutError,
    QuotaExceededError,
    TransientError,
    UnknownDeviceError,
)

if TYPE_CHECKING:
    import requests

    from .attachments import Attachment

log = logging.getLogger(__name__)

#: A WARNING is logged when fewer than this fraction of the monthly messages is left.
QUOTA_WARNING_FRACTION: Final = 0.10
USER_AGENT: Final = f"alexa-pushover-skill/{const.VERSION}"
#: Kept-alive connections to the API; as many as calls that may run at once.
MAX_CONNECTIONS: Final = 128

_QUERY_SECRET_RE: Final = re.compile(r"\b(token|user)=[^&\s\"']+")
_SEPARATORS_RE: Final = re.compile(r"[\s_-]+")


@dataclass(frozen=True)
class Quota:
    """The application's monthly message quota, from the ``X-Limit-App-*`` headers."""

    limit: int | None
    remaining: int | None
    reset: int | None

    @property
    def low(self) -> bool:
        """True when less than ``QUOTA_WARNING_FRACTION`` of the limit is left."""
        if not self.limit or self.remaining is None:
            return False
        return self.remaining < self.limit * QUOTA_WARNING_FRACTION


@dataclass(frozen=True)
class SendResult:
    """What Pushover answered to a sent message."""

    request_id: str | None
    receipt: str | None
    quota: Quota | None


@dataclass(frozen=True)
class ReceiptStatus:
    """An emergency alert as ``receipts/{receipt}.json`` describes it; ``acknowledged_by`` is a user key."""

    acknowledged: bool
    acknowledged_at: int | None
    acknowledged_by: str | None = field(repr=False)
    acknowledged_device: str | None
    expired: bool
    expires_at: int | None


@dataclass(frozen=True)
class Message:
    """A rendered notification, ready for the wire."""

    message: str
    title: str | None = None
    devices: tuple[str, ...] = ()
    sound: str | None = None
    url: str | None = None
    url_title: str | None = None
    priority: int | None = None
    retry: int | None = None
    expire: int | None = None
    ttl: int | None = None
    timestamp: int | None = None
    html: bool = False
    monospace: bool = False
    callback: str | None = None
    tags: str | None = None
    attachment: Attachment | None = None

    def to_form(self) -> dict[str, str]:
        """The set fields as Pushover's form parameters (unset and empty ones left out)."""
        form = {"message": self.message}
        optional: dict[str, object] = {
            "title": self.title,
            "device": ",".join(self.devices),
            "sound": self.sound,
            "url": self.url,
            "url_title": self.url_title,
            "priority": self.priority,
            "retry": self.retry,
            "expire": self.expire,
            "ttl": self.ttl,
            "timestamp": self.timestamp,
            "html": 1 if self.html else None,
            "monospace": 1 if self.monospace else None,
            "callback": self.callback,
            "tags": self.tags,
        }
        form.update({name: str(value) for name, value in optional.items() if value is not None and value != ""})
        return form


class PushoverClient:
    """Talks to the Pushover API over one keep-alive session; see the module docstring."""

    def __init__(
        self,
        api_url: str = const.DEFAULT_PUSHOVER_API_URL,
        *,
        connect_timeout_s: float = const.DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = const.DEFAULT_READ_TIMEOUT_S,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._owns_session = session is None
        if session is None and _names_proxy_or_ca(os.environ):
            session = _session_for(self.api_url)  # they are read now (module docstring)
        self._session = session  # else opened on the first call
        self._clock = clock
        self._lock = threading.Lock()
        self._quota: Quota | None = None
        # Keyed by a digest, so the secrets are not kept around as dictionary keys.
        self._device_cache: dict[bytes, tuple[float, tuple[str, ...]]] = {}

    @property
    def connect_timeout_s(self) -> float:
        """How long a call waits for a connection."""
        return self._timeout[0]

    @property
    def read_timeout_s(self) -> float:
        """How long a call waits for an answer, unless it says otherwise."""
        return self._timeout[1]

    def __repr__(self) -> str:
        connect, read = self._timeout
        return f"PushoverClient({self.api_url!r}, connect_timeout_s={connect}, read_timeout_s={read})"

    def __enter__(self) -> PushoverClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the session (only if this client opened it)."""
        if self._owns_session and self._session is not None:
            self._session.close()

    @property
    def quota(self) -> Quota | None:
        """The quota from the latest response that carried it, or None before any."""
        return self._quota

    # -- the API -----------------------------------------------------------

    def send(self, message: Message, credentials: Credentials, *, read_timeout_s: float | None = None) -> SendResult:
        """Send one message; raises a :class:`~skill.errors.PushoverError` on any failure.

        ``read_timeout_s`` replaces the client's read timeout for this call (a background send
        waits longer; a send inside Alexa's deadline may wait less).
        """
        if message.priority == const.EMERGENCY_PRIORITY and (message.retry is None or message.expire is None):
            raise PermanentError("an emergency (priority 2) message needs both retry and expire")
        keys = [key for key in credentials.user.split(",") if key.strip()]
        if len(keys) > const.MAX_USER_KEYS:
            text = f"a message can go to at most {const.MAX_USER_KEYS} user keys, not {len(keys)}"
            raise PermanentError(text, errors=[text])
        form = {**message.to_form(), "token": credentials.token, "user": credentials.user}
        files = None
        if message.attachment is not None:
            att = message.attachment
            files = {"attachment": (att.filename, att.data, att.content_type)}
        timeout = self._timeout if read_timeout_s is None else (self._timeout[0], read_timeout_s)
        body, quota = self._call(
            "POST", "messages.json", "the message", credentials, data=form, files=files, idempotent=False,
            timeout=timeout,
        )  # fmt: skip
        return SendResult(
            request_id=_str_or_none(body.get("request")), receipt=_str_or_none(body.get("receipt")), quota=quota
        )

    def validate(self, credentials: Credentials, device: str | None = None) -> list[str]:
        """Check the user (or group) key, and ``device`` if given; the account's device names.

        A group key has no devices of its own: the list is empty.
        """
        form = {"token": credentials.token, "user": credentials.user}
        if device:
            form["device"] = device
        body, _ = self._call("POST", "users/validate.json", "the user key check", credentials, data=form)
        raw = body.get("devices")
        devices = tuple(str(d) for d in raw) if isinstance(raw, list) else ()
        with self._lock:
            self._device_cache[_cache_key(credentials)] = (self._clock(), devices)
        return list(devices)

    def devices(self, credentials: Credentials) -> list[str]:
        """The account's device names, cached for ``const.DEVICE_CACHE_TTL_S``."""
        devices, _ = self._devices(credentials, refresh=False)
        return list(devices)

    def resolve_devices(self, credentials: Credentials, names: Sequence[str]) -> tuple[str, ...]:
        """Map spoken names to the account's device names, forgiving case, spaces, '-', '_'.

        ("Pixel Three" doesn't match pixel3, but "pixel 3" and "PIXEL3" do.) On a miss the
        cached list is refreshed once; a name still unknown raises UnknownDeviceError(name, known).
        Blank names are skipped; duplicates collapse.
        """
        wanted = [name.strip() for name in names if name and name.strip()]
        if not wanted:
            return ()
        known, fresh = self._devices(credentials, refresh=False)
        resolved, missing = _match_devices(wanted, known)
        if missing and not fresh:
            log.debug("%d device name(s) not in the cached list; refreshing it", len(missing))
            known, _ = self._devices(credentials, refresh=True)
            resolved, missing = _match_devices(wanted, known)
        if missing:
            raise UnknownDeviceError(missing[0], list(known))
        return resolved

    def sounds(self, token: str) -> dict[str, str]:
        """The sounds the application may use (built-in and custom): name -> description."""
        body, _ = self._call("GET", "sounds.json", "the sound list", Credentials(token, ""), params={"token": token})
        raw = body.get("sounds")
        return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}

    def cancel_by_tag(self, token: str, tag: str) -> int:
        """Cancel the retries of every emergency message with ``tag``; how many were canceled."""
        if not tag:
            raise ValueError("tag must not be empty")
        path = f"receipts/cancel_by_tag/{quote(tag, safe='')}.json"
        body, _ = self._call("POST", path, "cancel by tag", Credentials(token, ""), data={"token": token})
        canceled = body.get("canceled", 0)
        return canceled if isinstance(canceled, int) else 0

    def cancel_receipt(self, token: str, receipt: str) -> None:
        """Cancel the retries of one emergency message."""
        if not receipt:
            raise ValueError("receipt must not be empty")
        path = f"receipts/{quote(receipt, safe='')}/cancel.json"
        self._call("POST", path, "the receipt cancel", Credentials(token, ""), data={"token": token})

    def receipt_status(self, token: str, receipt: str, *, read_timeout_s: float | None = None) -> ReceiptStatus:
        """What Pushover knows about one emergency alert (``receipts/{receipt}.json``).

        ``read_timeout_s`` shortens the wait for this call (a person is waiting for the answer).
        """
        if not receipt:
            raise ValueError("receipt must not be empty")
        path = f"receipts/{quote(receipt, safe='')}.json"
        timeout = self._timeout if read_timeout_s is None else (self._timeout[0], read_timeout_s)
        body, _ = self._call(
            "GET", path, "the receipt", Credentials(token, ""), params={"token": token}, timeout=timeout
        )
        return ReceiptStatus(
            acknowledged=body.get("acknowledged") == 1,
            acknowledged_at=_int_or_none(str(body.get("acknowledged_at"))) or None,
            acknowledged_by=str(body.get("acknowledged_by") or "") or None,
            acknowledged_device=str(body.get("acknowledged_by_device") or "") or None,
            expired=body.get("expired") == 1,
            expires_at=_int_or_none(str(body.get("expires_at"))),
        )

    # -- internals ---------------------------------------------------------

    def _devices(self, credentials: Credentials, *, refresh: bool) -> tuple[tuple[str, ...], bool]:
        """The device names and whether they were fetched just now."""
        if not refresh:
            with self._lock:
                entry = self._device_cache.get(_cache_key(credentials))
            if entry is not None and self._clock() - entry[0] < const.DEVICE_CACHE_TTL_S:
                return entry[1], False
        keys = [key.strip() for key in credentials.user.split(",") if key.strip()]
        if len(keys) <= 1:
            return tuple(self.validate(credentials)), True
        # users/validate.json takes one key: ask for each, and cache what they have together.
        merged: dict[str, None] = {}
        for key in keys:
            merged.update(dict.fromkeys(self.validate(Credentials(credentials.token, key))))
        with self._lock:
            self._device_cache[_cache_key(credentials)] = (self._clock(), tuple(merged))
        return tuple(merged), True

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        credentials: Credentials,
        *,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        idempotent: bool = True,
        timeout: tuple[float, float] | None = None,
    ) -> tuple[dict[str, Any], Quota | None]:
        """One API call: the JSON body and the quota headers, or the translated error."""
        import requests

        url = f"{self.api_url}/{path}"
        secrets = _secrets(credentials)
        session = self._session
        if session is None:
            with self._lock:
                if self._session is None:
                    self._session = _session_for(self.api_url)
                session = self._session
        headers = {"User-Agent": USER_AGENT}
        body: Mapping[str, str] | bytes | None = data
        if data is not None and files is None:
            # The bytes requests would make; given a dict, requests first tests it against two
            # runtime-checkable Protocols, about 0.1 ms of CPU per send on the path a person waits on.
            body = urlencode({k: v for k, v in data.items() if v is not None}).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            started = self._clock()
            try:
                # Prepared here and handed to Session.send: Session.request would merge this call's
                # headers, hooks and settings with the session's (about eight merges, two of them with
                # Protocol checks) although the session holds nothing to merge (see _session_for).
                prepared = requests.Request(method, url, headers=headers, data=body, params=params, files=files)
                response = session.send(prepared.prepare(), timeout=timeout or self._timeout, allow_redirects=False)
            except requests.RequestException as err:
                error, retry_safe = _translate_failure(err, what, idempotent)
                if attempt == 1 and retry_safe:
                    log.info("Pushover %s: %s; retrying once", path, error)
                    continue
                log.debug("Pushover %s failed: %s", path, error)
                raise error from _safe_cause(err, secrets)
            break
        elapsed_ms = (self._clock() - started) * 1000
        quota = self._record_quota(response)
        body = _check_response(response, what, secrets)
        log.debug(
            "Pushover %s %s -> %d in %.0f ms (request %s)",
            method,
            path,
            response.status_code,
            elapsed_ms,
            body.get("request"),
        )
        return body, quota

    def _record_quota(self, response: requests.Response) -> Quota | None:
        headers = response.headers
        names = ("X-Limit-App-Limit", "X-Limit-App-Remaining", "X-Limit-App-Reset")
        if not any(name in headers for name in names):
            return None
        quota = Quota(*(_int_or_none(headers.get(name)) for name in names))
        with self._lock:
            self._quota = quota
        if quota.low:
            log.warning("Pushover quota is low: %s of %s messages left this month", quota.remaining, quota.limit)
        else:
            log.debug("Pushover quota: %s of %s messages left, resets at %s", quota.remaining, quota.limit, quota.reset)
        return quota


def _names_proxy_or_ca(environ: Mapping[str, str]) -> bool:
    """True when the environment names a proxy or a CA bundle (which requests would read)."""
    return any(name.lower().endswith("_proxy") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") for name in environ)


def _session_for(api_url: str) -> requests.Session:
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


def _check_response(response: requests.Response, what: str, secrets: Sequence[str]) -> dict[str, Any]:
    """The JSON body of a successful answer, or the PushoverError that the answer means."""
    status = response.status_code
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    raw_errors = body.get("errors")
    errors = [_redact(str(e), secrets) for e in raw_errors] if isinstance(raw_errors, list) else []
    request_id = _str_or_none(body.get("request"))
    detail = "; ".join(errors) or f"HTTP {status}"
    suffix = f" (HTTP {status}, request {request_id})" if request_id else f" (HTTP {status})"

    def make(cls: type[PushoverError], text: str) -> PushoverError:
        return cls(_redact(text, secrets), status=status, errors=errors, request_id=request_id)

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
            _redact(f"Pushover answered {what} with something that is not JSON{suffix}", secrets), status=status
        )
        garbled.maybe_delivered = True  # something answered: Pushover may have queued the message
        raise garbled
    if body.get("status") != 1:
        raise make(PermanentError, f"Pushover refused {what}: {detail}{suffix}")
    return body


def _translate_failure(err: requests.RequestException, what: str, idempotent: bool) -> tuple[PushoverError, bool]:
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


def _safe_cause(err: BaseException, secrets: Sequence[str]) -> BaseException:
    """``err``, or a redacted copy when its chain mentions a secret (e.g. a URL with ``?token=``)."""
    chain: list[BaseException] = []
    link: BaseException | None = err
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    if not any(_redact(repr(e), secrets) != repr(e) for e in chain):
        return err
    try:
        clean = type(err)(_redact(str(err), secrets))
    except Exception:
        import requests

        clean = requests.RequestException(_redact(str(err), secrets))
    clean.__suppress_context__ = True
    return clean.with_traceback(err.__traceback__)


def _secrets(credentials: Credentials) -> tuple[str, ...]:
    parts = [credentials.token, credentials.user, *credentials.user.split(",")]
    return tuple(sorted({p.strip() for p in parts if p and p.strip()}, key=len, reverse=True))


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, mask(secret))
    return _QUERY_SECRET_RE.sub(r"\1=<redacted>", text)


def _cache_key(credentials: Credentials) -> bytes:
    import hashlib  # (with OpenSSL) only when devices are checked

    return hashlib.sha256(f"{credentials.token}\0{credentials.user}".encode()).digest()


def _normalize(name: str) -> str:
    return _SEPARATORS_RE.sub("", name).casefold()


def _match_devices(names: Sequence[str], known: Sequence[str]) -> tuple[tuple[str, ...], list[str]]:
    """The matched device names (in order, no duplicates) and the names that matched none."""
    by_norm: dict[str, str] = {}
    for device in known:
        by_norm.setdefault(_normalize(device), device)
    resolved: dict[str, None] = {}
    missing: list[str] = []
    for name in names:
        device = name if name in known else by_norm.get(_normalize(name))
        if device is None:
            missing.append(name)
        else:
            resolved[device] = None
    return tuple(resolved), missing


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _str_or_none(value: object) -> str | None:
    return str(value) if value is not None else None


class _RedactQuerySecrets(logging.Filter):
    """Hide ``token=``/``user=`` query values in urllib3's DEBUG request lines (GET sounds.json?token=…)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _QUERY_SECRET_RE.sub(r"\1=<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _install_log_filter() -> None:
    pool_log = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactQuerySecrets) for f in pool_log.filters):
        pool_log.addFilter(_RedactQuerySecrets())


_install_log_filter()
