"""Tests for skill.verify: Amazon's rules for requests to a skill hosted as a web service."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from skill.cert_download import FAILURE_TTL_S
from skill.errors import ConfigError, VerificationError
from skill.verify import RequestVerifier, check_application_id, validate_cert_url
from tests.cert_host import CertHost, LocalS3Adapter, Route, cert_host_session, run_cert_host
from tests.pki import Pki, make_ca, make_leaf, make_pki, pem, rsa_key, sign, signed_headers

NOW = dt.datetime(2026, 11, 26, 13, 0, tzinfo=dt.UTC)
SKILL_ID = "amzn1.ask.skill.0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-14.pem"
MINUTE = dt.timedelta(minutes=1)


def iso(when: dt.datetime) -> str:
    """Format a time the way Alexa does."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_envelope(*, timestamp: object = None, request_type: str = "IntentRequest", app_id: object = SKILL_ID) -> dict:
    """An Alexa IntentRequest envelope, shaped like real traffic."""
    application = {"applicationId": app_id} if app_id is not None else {}
    return {
        "version": "1.0",
        "session": {
            "new": True,
            "sessionId": "amzn1.echo-api.session.0000",
            "application": dict(application),
            "attributes": {},
            "user": {"userId": "amzn1.ask.account.TEST"},
        },
        "context": {
            "System": {
                "application": dict(application),
                "user": {"userId": "amzn1.ask.account.TEST"},
                "device": {"deviceId": "amzn1.ask.device.TEST", "supportedInterfaces": {}},
                "apiEndpoint": "https://api.amazonalexa.com",
            }
        },
        "request": {
            "type": request_type,
            "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",  # Alexa's ids are unique: no replay
            "timestamp": iso(NOW) if timestamp is None else timestamp,
            "locale": "en-US",
            "intent": {"name": "LocateIntent", "confirmationStatus": "NONE", "slots": {}},
            "dialogState": "COMPLETED",
        },
    }


def signed(pki: Pki, envelope: dict | None = None, url: str = CERT_URL) -> tuple[dict[str, str], bytes, dict]:
    """Return ``(headers, body, envelope)`` of a request Alexa would send."""
    envelope = make_envelope() if envelope is None else envelope
    body = json.dumps(envelope).encode()
    return signed_headers(body, pki.leaf_key, url), body, envelope


class Clock:
    """A settable clock for the verifier's ``clock`` seam."""

    def __init__(self, when: dt.datetime = NOW) -> None:
        self.now = when.timestamp()

    def set(self, when: dt.datetime) -> None:
        self.now = when.timestamp()

    def __call__(self) -> float:
        return self.now


class Fetcher:
    """The ``fetch`` seam: serves chains from a dict (an exception is raised), counts calls per URL."""

    def __init__(self, chains: dict[str, bytes | Exception] | None = None, delay_s: float = 0.0) -> None:
        self.chains = dict(chains or {})
        self.calls: Counter[str] = Counter()
        self.delay_s = delay_s
        self._lock = threading.Lock()

    def __call__(self, url: str) -> bytes:
        with self._lock:
            self.calls[url] += 1
        if self.delay_s:
            time.sleep(self.delay_s)  # let the other threads pile up behind this fetch
        reply = self.chains.get(url, OSError("connection refused"))
        if isinstance(reply, Exception):
            raise reply
        return reply


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki(now=NOW)


@pytest.fixture(scope="module")
def ca_bundle(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "roots.pem"
    path.write_bytes(pki.root_pem)
    return str(path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fetcher(pki: Pki) -> Fetcher:
    return Fetcher({CERT_URL: pki.chain_pem})


@pytest.fixture
def make_verifier(ca_bundle: str, fetcher: Fetcher, clock: Clock) -> Iterator[Callable[..., RequestVerifier]]:
    made: list[RequestVerifier] = []

    def make(**kwargs: object) -> RequestVerifier:
        options: dict = {"skill_id": SKILL_ID, "ca_bundle": ca_bundle, "fetch": fetcher, "clock": clock}
        verifier = RequestVerifier(**(options | kwargs))
        made.append(verifier)
        return verifier

    yield make
    for verifier in made:
        verifier.close()


@pytest.fixture
def verifier(make_verifier: Callable[..., RequestVerifier]) -> RequestVerifier:
    return make_verifier()


def refusal(verifier: RequestVerifier, headers: dict[str, str], body: bytes, envelope: dict) -> str:
    """Return the reason ``verifier`` refuses the request with (fails the test if it passes)."""
    with pytest.raises(VerificationError) as caught:
        verifier.verify(headers, body, envelope)
    return str(caught.value)


# -- a valid request ---------------------------------------------------------------------------


def test_valid_request_passes(verifier: RequestVerifier, pki: Pki, fetcher: Fetcher) -> None:
    verifier.verify(*signed(pki))
    assert fetcher.calls == {CERT_URL: 1}


@pytest.mark.parametrize("case", [str.lower, str.upper, lambda name: name], ids=["lower", "upper", "as-sent"])
def test_headers_are_case_insensitive(verifier: RequestVerifier, pki: Pki, case: Callable[[str], str]) -> None:
    headers, body, envelope = signed(pki)
    verifier.verify({case(k): v for k, v in headers.items()}, body, envelope)


# -- SignatureCertChainUrl ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        CERT_URL,
        "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert-14.pem",
        "https://s3.amazonaws.com:443/echo.api/echo-api-cert-14.pem",
        "HTTPS://S3.AmazonAWS.com/echo.api/echo-api-cert-14.pem",
        "https://s3.amazonaws.com/echo.api/./old/../echo-api-cert-14.pem",
        "https://s3.amazonaws.com/../echo.api/echo-api-cert-14.pem",
    ],
)
def test_cert_url_accepted_and_fetched_normalized(
    verifier: RequestVerifier, pki: Pki, fetcher: Fetcher, url: str
) -> None:
    validate_cert_url(url)
    verifier.verify(*signed(pki, url=url))
    assert fetcher.calls == {CERT_URL: 1}


BAD_CERT_URLS = [
    ("http://s3.amazonaws.com/echo.api/echo-api-cert.pem", "must use https, not 'http'"),
    ("ftp://s3.amazonaws.com/echo.api/echo-api-cert.pem", "must use https"),
    ("https://notamazon.com/echo.api/echo-api-cert.pem", "host must be s3.amazonaws.com, not 'notamazon.com'"),
    ("https://s3.amazonaws.com.evil.example/echo.api/echo-api-cert.pem", "host must be s3.amazonaws.com"),
    ("https://s3.amazonaws.com./echo.api/echo-api-cert.pem", "host must be s3.amazonaws.com"),
    ("https://user@s3.amazonaws.com/echo.api/echo-api-cert.pem", "must not contain user info"),
    ("https://s3.amazonaws.com@evil.example/echo.api/echo-api-cert.pem", "must not contain user info"),
    ("https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem", "path must start with /echo.api/, not '/EcHo.aPi/"),
    ("https://s3.amazonaws.com/invalid.path/echo-api-cert.pem", "path must start with /echo.api/"),
    ("https://s3.amazonaws.com/echo.api/../invalid.path/echo-api-cert.pem", "not '/invalid.path/echo-api-cert.pem'"),
    ("https://s3.amazonaws.com//echo.api/echo-api-cert.pem", "path must start with /echo.api/"),
    ("https://s3.amazonaws.com/echo.api", "path must start with /echo.api/"),
    ("https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem", "port must be 443, not 563"),
    ("https://s3.amazonaws.com:80/echo.api/echo-api-cert.pem", "port must be 443, not 80"),
    ("https://s3.amazonaws.com:https/echo.api/echo-api-cert.pem", "malformed"),
    ("https://s3.amazonaws.com/echo.api/%2e%2e/evil-bucket/cert.pem", "must not percent-encode"),
    ("https://s3.amazonaws.com/echo.api/..%2Fevil-bucket/cert.pem", "must not percent-encode"),
    ("https://s3.amazonaws.com/echo.api/..\\evil-bucket/cert.pem", "characters a URL cannot have"),
    ("https://s3.amazonaws.com/echo.api/echo-api-cert.pem?versionId=1", "must not have a query or fragment"),
    ("https://s3.amazonaws.com/echo.api/echo-api-cert.pem#x", "must not have a query or fragment"),
    ("https://s3.amazonaws.com/echo.api/echo-\napi-cert.pem", "characters a URL cannot have"),
    ("https://s3.amazonaws.com/echo.api/échø.pem", "characters a URL cannot have"),
    ("https://s3.amazonaws.com/echo.api/" + "a" * 3000, "longer than 2048 characters"),
    ("/echo.api/echo-api-cert.pem", "must use https"),
]


@pytest.mark.parametrize(("url", "reason"), BAD_CERT_URLS)
def test_cert_url_refused_without_fetching(
    verifier: RequestVerifier, pki: Pki, fetcher: Fetcher, url: str, reason: str
) -> None:
    with pytest.raises(VerificationError, match=r"^certificate URL") as caught:
        validate_cert_url(url)
    assert reason in str(caught.value)
    assert reason in refusal(verifier, *signed(pki, url=url))
    assert not fetcher.calls


# -- Signature-256 -----------------------------------------------------------------------------


def _tamper_body(headers: dict, body: bytes) -> tuple[dict, bytes]:
    return headers, body.replace(b"LocateIntent", b"LocateIntenT")


def _drop(name: str) -> Callable[[dict, bytes], tuple[dict, bytes]]:
    return lambda headers, body: ({k: v for k, v in headers.items() if k != name}, body)


def _set(name: str, value: str) -> Callable[[dict, bytes], tuple[dict, bytes]]:
    return lambda headers, body: (headers | {name: value}, body)


def _legacy_only(headers: dict, body: bytes) -> tuple[dict, bytes]:
    signature = headers.pop("Signature-256")
    return headers | {"Signature": signature}, body


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(_tamper_body, "Signature-256 does not match the request body", id="tampered-body"),
        pytest.param(lambda h, b: (h, b + b" "), "Signature-256 does not match", id="trailing-space"),
        pytest.param(_drop("Signature-256"), "Signature-256 header is missing", id="missing-signature"),
        pytest.param(_legacy_only, "only the SHA-1 Signature header was sent; Signature-256 is required", id="sha1"),
        pytest.param(_set("Signature-256", ""), "Signature-256 header is empty", id="empty-signature"),
        pytest.param(_set("Signature-256", "not*base64!"), "not valid base64: 'not*base64!'", id="garbled"),
        pytest.param(_set("Signature-256", "c2lnbmF0dXJl"), "does not match", id="short-signature"),
        pytest.param(_set("Signature-256", "x" * 3000), "longer than 2048 characters", id="huge-signature"),
        pytest.param(
            lambda h, b: (h | {"Signature-256": sign(b, rsa_key("intermediate"))}, b),
            "does not match",
            id="signed-by-another-key",
        ),
        pytest.param(_drop("SignatureCertChainUrl"), "SignatureCertChainUrl header is missing", id="missing-url"),
        pytest.param(_set("SignatureCertChainUrl", " "), "SignatureCertChainUrl header is missing", id="blank-url"),
    ],
)
def test_signature_refused(
    verifier: RequestVerifier, pki: Pki, mutate: Callable[[dict, bytes], tuple[dict, bytes]], reason: str
) -> None:
    headers, body, envelope = signed(pki)
    headers, body = mutate(headers, body)
    assert reason in refusal(verifier, headers, body, envelope)


# -- request.timestamp -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "request_type"),
    [
        (iso(NOW), "IntentRequest"),
        (iso(NOW - 150 * dt.timedelta(seconds=1)), "IntentRequest"),
        (iso(NOW + 150 * dt.timedelta(seconds=1)), "LaunchRequest"),
        ("2026-11-26T13:00:00.123Z", "IntentRequest"),
        ("2026-11-26T13:00:00.123456789Z", "IntentRequest"),
        ("2026-11-26T14:00:00+01:00", "IntentRequest"),
        (iso(NOW - 30 * MINUTE), "AlexaSkillEvent.SkillEnabled"),
        (iso(NOW + 59 * MINUTE), "AlexaSkillEvent.SkillPermissionAccepted"),
    ],
)
def test_timestamp_accepted(verifier: RequestVerifier, pki: Pki, timestamp: str, request_type: str) -> None:
    verifier.verify(*signed(pki, make_envelope(timestamp=timestamp, request_type=request_type)))


@pytest.mark.parametrize(
    ("timestamp", "request_type", "reason"),
    [
        (iso(NOW - 151 * dt.timedelta(seconds=1)), "IntentRequest", "is 151 s old (limit 150 s)"),
        (iso(NOW + 151 * dt.timedelta(seconds=1)), "IntentRequest", "is 151 s in the future (limit 150 s)"),
        (iso(NOW - 30 * MINUTE), "IntentRequest", "is 1800 s old (limit 150 s)"),
        (iso(NOW - 30 * MINUTE), "AlexaSkillEventSkillEnabled", "is 1800 s old (limit 150 s)"),
        (iso(NOW - 61 * MINUTE), "AlexaSkillEvent.SkillEnabled", "is 3660 s old (limit 3600 s)"),
        (iso(NOW + 61 * MINUTE), "AlexaSkillEvent.SkillDisabled", "is 3660 s in the future (limit 3600 s)"),
        ("", "IntentRequest", "request.timestamp is missing"),
        ("yesterday", "IntentRequest", "request.timestamp is not an ISO 8601 time: 'yesterday'"),
        ("2026-13-45T25:61:00Z", "IntentRequest", "not an ISO 8601 time"),
        ("2026-11-26T13:00:00", "IntentRequest", "request.timestamp has no time zone"),
        ("2026-11-26", "IntentRequest", "request.timestamp has no time zone"),
        (1795698000000, "IntentRequest", "not an ISO 8601 time: '1795698000000'"),
        ({"at": "now"}, "IntentRequest", "not an ISO 8601 time"),
    ],
)
def test_timestamp_refused(
    verifier: RequestVerifier, pki: Pki, timestamp: object, request_type: str, reason: str
) -> None:
    envelope = make_envelope(timestamp=timestamp, request_type=request_type)
    assert reason in refusal(verifier, *signed(pki, envelope))


@pytest.mark.parametrize("envelope", [{}, {"request": None}, {"request": {"type": "IntentRequest"}}])
def test_timestamp_missing(make_verifier: Callable[..., RequestVerifier], pki: Pki, envelope: dict) -> None:
    verifier = make_verifier(skill_id=None)
    assert refusal(verifier, *signed(pki, envelope)) == "request.timestamp is missing"


# -- skill id ----------------------------------------------------------------------------------


def _with_ids(context: str | None, session: str | None) -> dict:
    envelope = make_envelope()
    envelope["context"]["System"]["application"] = {} if context is None else {"applicationId": context}
    envelope["session"]["application"] = {} if session is None else {"applicationId": session}
    return envelope


@pytest.mark.parametrize(
    ("envelope", "skill_id"),
    [
        (make_envelope(), SKILL_ID),
        (_with_ids(None, SKILL_ID), SKILL_ID),
        (_with_ids(SKILL_ID, "amzn1.ask.skill.other"), SKILL_ID),
        (make_envelope(app_id="amzn1.ask.skill.other"), None),
        ({}, None),
        ({}, ""),
    ],
)
def test_application_id_accepted(envelope: dict, skill_id: str | None) -> None:
    check_application_id(envelope, skill_id)


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        (
            make_envelope(app_id="amzn1.ask.skill.other"),
            "request is for another skill: applicationId 'amzn1.ask.skill.other'",
        ),
        (make_envelope(app_id=SKILL_ID.upper()), "request is for another skill"),
        (make_envelope(app_id=SKILL_ID + " "), "request is for another skill"),
        (_with_ids("amzn1.ask.skill.other", SKILL_ID), "request is for another skill"),
        (_with_ids(None, None), "request has no applicationId"),
        ({}, "request has no applicationId"),
        ({"context": "System", "session": []}, "request has no applicationId"),
        (make_envelope(app_id=42), "request is for another skill: applicationId '42'"),
    ],
)
def test_application_id_refused(
    verifier: RequestVerifier, pki: Pki, fetcher: Fetcher, envelope: dict, reason: str
) -> None:
    with pytest.raises(VerificationError) as caught:
        check_application_id(envelope, SKILL_ID)
    assert reason in str(caught.value)
    assert reason in refusal(verifier, *signed(pki, envelope))
    assert not fetcher.calls, "the skill id is checked before anything is fetched"


def test_no_signature_check_still_checks_skill_id(fetcher: Fetcher) -> None:
    verifier = RequestVerifier(skill_id=SKILL_ID, verify_signature=False, ca_bundle="/nonexistent", fetch=fetcher)
    verifier.verify({}, b"{}", make_envelope(timestamp="long ago"))
    with pytest.raises(VerificationError, match="another skill"):
        verifier.verify({}, b"{}", make_envelope(app_id="amzn1.ask.skill.other"))
    assert not fetcher.calls


# -- the certificate chain ---------------------------------------------------------------------


def _ec_leaf(pki: Pki) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = make_leaf(
        pki.intermediate,
        pki.intermediate_key,
        key,
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=1),
    )
    return pem(leaf, pki.intermediate)


CHAIN_CASES = [
    pytest.param(
        lambda p: p.reissue(dns_names=("echo-api.amazon.com.evil.example",)).chain_pem,
        "signing certificate is not issued to echo-api.amazon.com (subjectAltName)",
        id="wrong-san",
    ),
    pytest.param(
        lambda p: p.reissue(dns_names=("*.amazon.com",)).chain_pem,
        "signing certificate is not issued to echo-api.amazon.com",
        id="wildcard-san",
    ),
    pytest.param(
        lambda p: p.reissue(dns_names=()).chain_pem,
        "signing certificate is not issued to echo-api.amazon.com",
        id="no-dns-san",
    ),
    pytest.param(
        lambda p: p.reissue(not_before=NOW - dt.timedelta(days=400), not_after=NOW - MINUTE).chain_pem,
        "signing certificate expired at 2026-11-26 12:59:00+00:00",
        id="expired-leaf",
    ),
    pytest.param(
        lambda p: p.reissue(not_before=NOW + MINUTE).chain_pem,
        "signing certificate is not valid before 2026-11-26 13:01:00+00:00",
        id="not-yet-valid-leaf",
    ),
    pytest.param(
        lambda p: make_pki(now=NOW, root_name="Untrusted Root CA").chain_pem,
        "certificate chain does not lead to a trusted root",
        id="untrusted-root",
    ),
    pytest.param(
        lambda p: pem(p.leaf),
        "certificate chain does not lead to a trusted root (the chain holds no intermediate certificate)",
        id="missing-intermediate",
    ),
    pytest.param(
        lambda p: pem(p.intermediate, p.leaf),
        "signing certificate is not issued to echo-api.amazon.com",
        id="intermediate-first",
    ),
    pytest.param(
        lambda p: b"<Error><Code>AccessDenied</Code></Error>",
        "certificate chain is not a PEM certificate list",
        id="not-pem",
    ),
    pytest.param(lambda p: b"", "certificate chain is not a PEM certificate list", id="empty"),
    pytest.param(_ec_leaf, "signing certificate does not hold an RSA key", id="ec-key"),
]


@pytest.mark.parametrize(("chain", "reason"), CHAIN_CASES)
def test_chain_refused_and_not_cached(
    make_verifier: Callable[..., RequestVerifier],
    pki: Pki,
    fetcher: Fetcher,
    chain: Callable[[Pki], bytes],
    reason: str,
) -> None:
    fetcher.chains[CERT_URL] = chain(pki)
    verifier = make_verifier()
    request = signed(pki)
    assert refusal(verifier, *request).startswith(reason)
    assert refusal(verifier, *request).startswith(reason)
    assert fetcher.calls == {CERT_URL: 2}


def test_default_roots_are_certifi_and_do_not_trust_the_test_pki(pki: Pki, fetcher: Fetcher, clock: Clock) -> None:
    # Also proves that certifi's roots with serial number 0 load without a warning (warnings are errors here).
    with RequestVerifier(fetch=fetcher, clock=clock) as verifier:
        assert "does not lead to a trusted root" in refusal(verifier, *signed(pki))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read CA bundle"),
        (b"", "holds no certificate"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n", "holds no"),
    ],
)
def test_unusable_ca_bundle_is_a_config_error(tmp_path: Path, content: bytes | None, reason: str) -> None:
    path = tmp_path / "roots.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=reason):
        RequestVerifier(ca_bundle=str(path))


def test_fetch_failure_is_remembered_for_a_while(
    verifier: RequestVerifier, pki: Pki, fetcher: Fetcher, clock: Clock
) -> None:
    fetcher.chains[CERT_URL] = OSError("connection refused")
    assert refusal(verifier, *signed(pki)) == "could not fetch certificate chain: OSError"
    fetcher.chains[CERT_URL] = pki.chain_pem
    clock.set(NOW + dt.timedelta(seconds=FAILURE_TTL_S - 1))
    later = signed(pki, make_envelope(timestamp=iso(NOW + dt.timedelta(seconds=FAILURE_TTL_S - 1))))
    assert refusal(verifier, *later) == "could not fetch certificate chain: OSError (remembered)"
    assert fetcher.calls == {CERT_URL: 1}
    clock.set(NOW + dt.timedelta(seconds=FAILURE_TTL_S))
    verifier.verify(*signed(pki, make_envelope(timestamp=iso(NOW + dt.timedelta(seconds=FAILURE_TTL_S)))))
    assert fetcher.calls == {CERT_URL: 2}


# -- the chain cache ---------------------------------------------------------------------------


def test_many_requests_fetch_the_chain_once(
    verifier: RequestVerifier, pki: Pki, fetcher: Fetcher, clock: Clock
) -> None:
    for second in range(50):
        clock.set(NOW + second * dt.timedelta(seconds=1))
        verifier.verify(*signed(pki))
    assert fetcher.calls == {CERT_URL: 1}


@pytest.mark.parametrize("fails", [False, True], ids=["ok", "fetch-fails"])
def test_concurrent_requests_share_one_fetch(
    make_verifier: Callable[..., RequestVerifier], pki: Pki, clock: Clock, fails: bool
) -> None:
    fetcher = Fetcher({CERT_URL: OSError("refused") if fails else pki.chain_pem}, delay_s=0.2)
    verifier = make_verifier(fetch=fetcher)
    requests_ = [signed(pki) for _ in range(16)]  # each with its own requestId, as Alexa sends them
    start = threading.Barrier(16)
    outcomes: list[str] = []

    def one(request: tuple[dict[str, str], bytes, dict]) -> None:
        start.wait()
        try:
            verifier.verify(*request)
        except VerificationError as err:
            outcomes.append(str(err))
        else:
            outcomes.append("ok")

    threads = [threading.Thread(target=one, args=(request,)) for request in requests_]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = "could not fetch certificate chain: OSError" if fails else "ok"
    assert outcomes == [expected] * 16
    assert fetcher.calls == {CERT_URL: 1}


def test_cache_entry_ends_at_leaf_not_after(
    make_verifier: Callable[..., RequestVerifier], pki: Pki, fetcher: Fetcher, clock: Clock
) -> None:
    short_lived = pki.reissue(not_after=NOW + dt.timedelta(hours=1))
    fetcher.chains[CERT_URL] = short_lived.chain_pem
    verifier = make_verifier()
    for when in (NOW, NOW + 30 * MINUTE, NOW + 60 * MINUTE):
        clock.set(when)
        verifier.verify(*signed(pki, make_envelope(timestamp=iso(when))))
    assert fetcher.calls == {CERT_URL: 1}

    later = NOW + 61 * MINUTE
    clock.set(later)
    request = signed(pki, make_envelope(timestamp=iso(later)))
    assert refusal(verifier, *request) == "signing certificate expired at 2026-11-26 14:00:00+00:00"
    assert fetcher.calls == {CERT_URL: 2}, "the expired entry was dropped and the URL fetched again"

    fetcher.chains[CERT_URL] = pki.chain_pem  # Amazon renewed the certificate behind the same URL
    verifier.verify(*request)
    assert fetcher.calls == {CERT_URL: 3}


def test_cache_entry_ends_at_the_earliest_not_after_in_the_chain(
    make_verifier: Callable[..., RequestVerifier], pki: Pki, fetcher: Fetcher, clock: Clock
) -> None:
    intermediate = make_ca(
        "Test Alexa Intermediate CA",
        pki.intermediate_key,
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(hours=1),
        issuer=pki.root,
        issuer_key=pki.root_key,
    )
    leaf = make_leaf(
        intermediate, pki.intermediate_key, pki.leaf_key, not_before=NOW - MINUTE, not_after=NOW + dt.timedelta(days=1)
    )
    fetcher.chains[CERT_URL] = pem(leaf, intermediate)
    verifier = make_verifier()
    verifier.verify(*signed(pki))
    later = NOW + 61 * MINUTE
    clock.set(later)
    request = signed(pki, make_envelope(timestamp=iso(later)))
    assert refusal(verifier, *request) == "an intermediate certificate expired at 2026-11-26 14:00:00+00:00"
    assert fetcher.calls == {CERT_URL: 2}


def test_certificates_off_the_path_do_not_shorten_the_cache(
    make_verifier: Callable[..., RequestVerifier], pki: Pki, fetcher: Fetcher, clock: Clock
) -> None:
    unused = make_ca(
        "Old Cross-Signed CA", pki.intermediate_key, not_before=NOW - dt.timedelta(days=1), not_after=NOW + MINUTE
    )
    fetcher.chains[CERT_URL] = pki.chain_pem + pem(unused)
    verifier = make_verifier()
    for when in (NOW, NOW + dt.timedelta(hours=2)):
        clock.set(when)
        verifier.verify(*signed(pki, make_envelope(timestamp=iso(when))))
    assert fetcher.calls == {CERT_URL: 1}


def test_cached_chain_is_rechecked_against_the_clock(
    make_verifier: Callable[..., RequestVerifier], pki: Pki, fetcher: Fetcher, clock: Clock
) -> None:
    fetcher.chains[CERT_URL] = pki.reissue(not_before=NOW - MINUTE).chain_pem
    verifier = make_verifier()
    verifier.verify(*signed(pki))
    earlier = NOW - 2 * MINUTE  # the host clock was stepped back
    clock.set(earlier)
    request = signed(pki, make_envelope(timestamp=iso(earlier)))
    assert refusal(verifier, *request).startswith("signing certificate is not valid before")
    assert fetcher.calls == {CERT_URL: 1}


def test_cache_is_bounded_lru(make_verifier: Callable[..., RequestVerifier], pki: Pki, fetcher: Fetcher) -> None:
    urls = {name: f"https://s3.amazonaws.com/echo.api/cert-{name}.pem" for name in "abc"}
    fetcher.chains = {url: pki.chain_pem for url in urls.values()}
    verifier = make_verifier(cache_size=2)
    for name in "abacab":  # c evicts b (a was used more recently), then b evicts c
        verifier.verify(*signed(pki, url=urls[name]))
    assert fetcher.calls == {urls["a"]: 1, urls["b"]: 2, urls["c"]: 1}


def test_cache_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="cache_size"):
        RequestVerifier(verify_signature=False, cache_size=0)


# -- refusal reasons ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("envelope", "url"),
    [
        (make_envelope(app_id="x" * 5000 + "\nlog-injection"), CERT_URL),
        (make_envelope(timestamp="2026\n" * 12), CERT_URL),
        (make_envelope(timestamp="\n" * 5000), CERT_URL),
        (make_envelope(), "https://evil.example/" + "a" * 1500),
        (make_envelope(), "https://s3.amazonaws.com/" + "a\u2028" * 500),
    ],
)
def test_refusal_reasons_are_short_single_lines(verifier: RequestVerifier, pki: Pki, envelope: dict, url: str) -> None:
    reason = refusal(verifier, *signed(pki, envelope, url=url))
    assert "\n" not in reason
    assert reason.isprintable()
    assert len(reason) < 200


# -- the default fetcher, through requests, against a local HTTPS server -------------------------


@pytest.fixture(scope="module")
def chain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CertHost, str]]:
    with run_cert_host(tmp_path_factory.mktemp("tls")) as host:
        yield host, host.ca_file


@pytest.fixture
def local_s3(chain_server: tuple[CertHost, str], pki: Pki) -> Iterator[tuple[CertHost, requests.Session]]:
    server, ca_file = chain_server
    server.reset({"/echo.api/echo-api-cert-14.pem": Route(200, pki.chain_pem)})
    with cert_host_session(server.base_url, ca_file) as session:
        yield server, session


def _adapter(session: requests.Session) -> LocalS3Adapter:
    adapter = session.get_adapter("https://s3.amazonaws.com/")
    assert isinstance(adapter, LocalS3Adapter)
    return adapter


def test_default_fetcher_downloads_once_with_timeouts(
    local_s3: tuple[CertHost, requests.Session], ca_bundle: str, pki: Pki, clock: Clock
) -> None:
    server, session = local_s3
    with RequestVerifier(skill_id=SKILL_ID, ca_bundle=ca_bundle, clock=clock, session=session) as verifier:
        for url in (CERT_URL, "https://s3.amazonaws.com:443/echo.api/../echo.api/echo-api-cert-14.pem", CERT_URL):
            verifier.verify(*signed(pki, url=url))
    assert server.paths == ["/echo.api/echo-api-cert-14.pem"]
    assert _adapter(session).timeouts == [(2.0, 2.0)]


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ((404, b"<Error><Code>NoSuchKey</Code></Error>"), "could not fetch certificate chain: HTTP 404"),
        ((301, b""), "could not fetch certificate chain: HTTP 301"),
        ((200, b"-" * 70_000), "could not fetch certificate chain: over 65536 bytes"),
        ((200, b"garbage"), "certificate chain is not a PEM certificate list"),
    ],
    ids=["not-found", "redirect-not-followed", "too-big", "not-pem"],
)
def test_default_fetcher_refusals(
    local_s3: tuple[CertHost, requests.Session],
    ca_bundle: str,
    pki: Pki,
    clock: Clock,
    route: tuple[int, bytes],
    reason: str,
) -> None:
    server, session = local_s3
    server.routes["/echo.api/echo-api-cert-14.pem"] = Route(*route)
    with RequestVerifier(skill_id=SKILL_ID, ca_bundle=ca_bundle, clock=clock, session=session) as verifier:
        assert refusal(verifier, *signed(pki)) == reason
    assert server.paths == ["/echo.api/echo-api-cert-14.pem"]


def test_default_fetcher_closed_port(
    chain_server: tuple[CertHost, str], ca_bundle: str, pki: Pki, clock: Clock
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    _, ca_file = chain_server
    with (
        cert_host_session(f"https://127.0.0.1:{closed_port}", ca_file) as session,
        RequestVerifier(skill_id=SKILL_ID, ca_bundle=ca_bundle, clock=clock, session=session) as verifier,
    ):
        assert refusal(verifier, *signed(pki)) == "could not fetch certificate chain: ConnectionError"


def test_own_session_uses_environment_proxies(
    monkeypatch: pytest.MonkeyPatch, ca_bundle: str, pki: Pki, clock: Clock
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{probe.getsockname()[1]}"  # closed once the block ends
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.setenv("https_proxy", proxy)
    # Guard: were the proxy not picked up, the request would head for the real S3.
    assert requests.utils.get_environ_proxies(CERT_URL) == {"https": proxy}
    with RequestVerifier(skill_id=SKILL_ID, ca_bundle=ca_bundle, clock=clock) as verifier:
        assert refusal(verifier, *signed(pki)) == "could not fetch certificate chain: ProxyError"


# -- the module stays light --------------------------------------------------------------------


def test_import_is_cheap() -> None:
    code = "import sys, skill.verify; print(sorted({m.split('.')[0] for m in sys.modules}))"
    root = Path(__file__).resolve().parents[1]
    loaded = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
    for heavy in ("flask", "ask_sdk_core", "ask_sdk_model", "cryptography", "requests", "certifi"):
        assert f"'{heavy}'" not in loaded
