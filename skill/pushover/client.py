"""PushoverClient: send, validate, devices, sounds, receipts and cancels over one keep-alive session."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

from .. import const
from ..config import Credentials
from ..errors import PermanentError, UnknownDeviceError
from .message import Message, Quota, ReceiptStatus, SendResult, int_or_none, str_or_none
from .transport import check_response, names_proxy_or_ca, safe_cause, secrets_of, session_for, translate_failure

if TYPE_CHECKING:
    import requests


# The package's name, so log lines read "skill.pushover" as before the split.
log = logging.getLogger(__package__)

USER_AGENT: Final = f"alexa-pushover-skill/{const.VERSION}"

_SEPARATORS_RE: Final = re.compile(r"[\s_-]+")


class PushoverClient:
    """Talks to the Pushover API over one keep-alive session; see skill.pushover's docstring."""

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
        if session is None and names_proxy_or_ca(os.environ):
            session = session_for(self.api_url)  # they are read now (module docstring)
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
            request_id=str_or_none(body.get("request")), receipt=str_or_none(body.get("receipt")), quota=quota
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
            acknowledged_at=int_or_none(str(body.get("acknowledged_at"))) or None,
            acknowledged_by=str(body.get("acknowledged_by") or "") or None,
            acknowledged_device=str(body.get("acknowledged_by_device") or "") or None,
            expired=body.get("expired") == 1,
            expires_at=int_or_none(str(body.get("expires_at"))),
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
        secrets = secrets_of(credentials)
        session = self._session
        if session is None:
            with self._lock:
                if self._session is None:
                    self._session = session_for(self.api_url)
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
                # Protocol checks) although the session holds nothing to merge (see transport.session_for).
                prepared = requests.Request(method, url, headers=headers, data=body, params=params, files=files)
                response = session.send(prepared.prepare(), timeout=timeout or self._timeout, allow_redirects=False)
            except requests.RequestException as err:
                error, retry_safe = translate_failure(err, what, idempotent)
                if attempt == 1 and retry_safe:
                    log.info("Pushover %s: %s; retrying once", path, error)
                    continue
                log.debug("Pushover %s failed: %s", path, error)
                raise error from safe_cause(err, secrets)
            break
        elapsed_ms = (self._clock() - started) * 1000
        quota = self._record_quota(response)
        body = check_response(response, what, secrets)
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
        quota = Quota(*(int_or_none(headers.get(name)) for name in names))
        with self._lock:
            self._quota = quota
        if quota.low:
            log.warning("Pushover quota is low: %s of %s messages left this month", quota.remaining, quota.limit)
        else:
            log.debug("Pushover quota: %s of %s messages left, resets at %s", quota.remaining, quota.limit, quota.reset)
        return quota


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
