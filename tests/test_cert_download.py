"""Certificate-chain downloads are bounded: one deadline, a size cap, shared waits, remembered failures, few at once.

Against a loopback HTTPS stand-in for ``s3.amazonaws.com`` (tests/cert_host.py) that can drip its
replies, through the verifier's own requests-based fetcher. Counting assertions only: how many
downloads the host saw, how many requests were refused and why.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from skill.cert_download import (
    CERT_DOWNLOAD_DEADLINE_S,
    FAILURE_TTL_S,
    MAX_CERT_CHAIN_BYTES,
    MAX_DOWNLOADS_IN_FLIGHT,
    DownloadError,
    SharedDownloads,
)
from skill.errors import VerificationError
from skill.verify import RequestVerifier
from tests.cert_host import CertHost, Route, cert_host_session, run_cert_host, wait_until
from tests.pki import Pki, make_pki, signed_headers

NOW = dt.datetime(2026, 11, 26, 13, 0, tzinfo=dt.UTC)
SKILL_ID = "amzn1.ask.skill.0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
PATH = "/echo.api/echo-api-cert-14.pem"
CERT_URL = "https://s3.amazonaws.com" + PATH
TOO_SLOW = f"could not fetch certificate chain within {CERT_DOWNLOAD_DEADLINE_S:g} s"
BUSY = "too many certificate chain downloads at once"
#: A drip slow enough that no chain arrives within the deadline, whatever the machine.
DRIP = {"drip_s": 0.25, "drip_bytes": 1}


class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki(now=NOW)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CertHost]:
    with run_cert_host(tmp_path_factory.mktemp("tls")) as host:
        yield host


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(host: CertHost, pki: Pki, clock: Clock, tmp_path: Path) -> Iterator[RequestVerifier]:
    host.reset()
    roots = tmp_path / "roots.pem"
    roots.write_bytes(pki.root_pem)
    with (
        cert_host_session(host.base_url, host.ca_file) as session,
        RequestVerifier(skill_id=SKILL_ID, ca_bundle=str(roots), clock=clock, session=session) as verifier,
    ):
        yield verifier


def request(pki: Pki, clock: Clock, url: str = CERT_URL) -> tuple[dict[str, str], bytes, dict]:
    when = dt.datetime.fromtimestamp(clock(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    envelope = {
        "version": "1.0",
        "context": {"System": {"application": {"applicationId": SKILL_ID}}},
        "request": {"type": "LaunchRequest", "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}", "timestamp": when},
    }
    body = json.dumps(envelope).encode()
    return signed_headers(body, pki.leaf_key, url), body, envelope


def outcome(verifier: RequestVerifier, *args: object) -> str:
    try:
        verifier.verify(*args)  # type: ignore[arg-type]
    except VerificationError as err:
        return str(err)
    return "ok"


def in_threads(n: int, target: Callable[[int], str]) -> Counter[str]:
    """Run ``target(i)`` in ``n`` threads started together; count their outcomes."""
    start = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        start.wait()
        result = target(i)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return Counter(results)


# --------------------------------------------------------------------------- through requests, on loopback


def test_a_dripping_chain_is_given_up_and_remembered(
    verifier: RequestVerifier, host: CertHost, pki: Pki, clock: Clock
) -> None:
    host.routes[PATH] = Route(200, pki.chain_pem, **DRIP)
    assert outcome(verifier, *request(pki, clock)) == TOO_SLOW
    assert outcome(verifier, *request(pki, clock)) == TOO_SLOW + " (remembered)"
    assert host.count(PATH) == 1


def test_concurrent_waiters_share_the_download_and_give_up_with_it(
    verifier: RequestVerifier, host: CertHost, pki: Pki, clock: Clock
) -> None:
    host.routes[PATH] = Route(200, pki.chain_pem, **DRIP)
    args = request(pki, clock)
    outcomes = in_threads(16, lambda i: outcome(verifier, *args))
    assert outcomes == {TOO_SLOW: 16}
    assert host.count(PATH) == 1


def test_many_distinct_urls_start_only_a_few_downloads(
    verifier: RequestVerifier, host: CertHost, pki: Pki, clock: Clock
) -> None:
    paths = [f"/echo.api/forged-{i}.pem" for i in range(20)]
    host.reset({path: Route(200, pki.chain_pem, **DRIP) for path in paths})
    requests_ = [request(pki, clock, "https://s3.amazonaws.com" + path) for path in paths]
    outcomes = in_threads(len(paths), lambda i: outcome(verifier, *requests_[i]))
    assert outcomes == {TOO_SLOW: MAX_DOWNLOADS_IN_FLIGHT, BUSY: len(paths) - MAX_DOWNLOADS_IN_FLIGHT}
    assert host.count() == MAX_DOWNLOADS_IN_FLIGHT


def test_the_service_recovers_when_the_slow_downloads_end(
    verifier: RequestVerifier, host: CertHost, pki: Pki, clock: Clock
) -> None:
    host.routes[PATH] = Route(200, pki.chain_pem, **DRIP)
    assert outcome(verifier, *request(pki, clock)) == TOO_SLOW
    host.routes[PATH] = Route(200, pki.chain_pem)
    # The abandoned download ends by itself (its own deadline), freeing its slot.
    assert wait_until(lambda: verifier._downloads.in_flight == 0)
    clock.now += FAILURE_TTL_S
    assert outcome(verifier, *request(pki, clock)) == "ok"
    assert outcome(verifier, *request(pki, clock)) == "ok"
    assert host.count(PATH) == 2


@pytest.mark.parametrize("length", [True, False], ids=["declared", "undeclared"])
def test_a_chain_over_the_cap_is_refused(
    verifier: RequestVerifier, host: CertHost, pki: Pki, clock: Clock, length: bool
) -> None:
    body = pki.chain_pem + b"\n" * MAX_CERT_CHAIN_BYTES
    host.routes[PATH] = Route(200, body, length=length)
    reason = f"could not fetch certificate chain: over {MAX_CERT_CHAIN_BYTES} bytes"
    assert outcome(verifier, *request(pki, clock)) == reason
    assert outcome(verifier, *request(pki, clock)) == reason + " (remembered)"
    assert host.count(PATH) == 1


def test_a_chain_of_exactly_the_cap_is_read(verifier: RequestVerifier, host: CertHost, pki: Pki, clock: Clock) -> None:
    body = pki.chain_pem + b"\n" * (MAX_CERT_CHAIN_BYTES - len(pki.chain_pem))
    host.routes[PATH] = Route(200, body, length=False, drip_s=0.001, drip_bytes=4096)
    assert outcome(verifier, *request(pki, clock)) == "ok"


# --------------------------------------------------------------------------- SharedDownloads without a network


def test_the_bound_counts_downloads_whose_waiters_gave_up() -> None:
    release = threading.Event()
    downloads: SharedDownloads[str] = SharedDownloads(deadline_s=0.05, max_in_flight=2)

    def stuck() -> str:
        release.wait(10)
        return "late"

    try:
        for key in ("a", "b"):
            with pytest.raises(VerificationError, match=r"within 0\.05 s"):
                downloads.run(key, stuck)
        assert downloads.in_flight == 2
        with pytest.raises(VerificationError, match=BUSY):
            downloads.run("c", lambda: "never started")
    finally:
        release.set()
    assert wait_until(lambda: downloads.in_flight == 0)
    # A download that finished after all is forgotten as a failure: the next run starts afresh.
    assert downloads.run("a", lambda: "fresh") == "fresh"


def test_only_download_errors_are_remembered() -> None:
    now = [0.0]
    downloads: SharedDownloads[str] = SharedDownloads(failure_ttl_s=10, clock=lambda: now[0])
    calls: Counter[str] = Counter()

    def fails(key: str, err: Exception) -> Callable[[], str]:
        def job() -> str:
            calls[key] += 1
            raise err

        return job

    for _ in range(2):
        with pytest.raises(VerificationError, match=r"^bad chain$"):
            downloads.run("content", fails("content", VerificationError("bad chain")))
        with pytest.raises(DownloadError, match="HTTP 404"):
            downloads.run("missing", fails("missing", DownloadError("HTTP 404")))
    assert calls == {"content": 2, "missing": 1}
    now[0] = 10.0
    assert downloads.run("missing", lambda: "found") == "found"


def test_remembered_failures_are_bounded() -> None:
    downloads: SharedDownloads[str] = SharedDownloads(max_failures=3)

    def gone() -> str:
        raise DownloadError("gone")

    for key in "abcd":
        with pytest.raises(DownloadError):
            downloads.run(key, gone)
    assert downloads.run("a", lambda: "a again") == "a again"  # the oldest memory went first
    with pytest.raises(VerificationError, match="remembered"):
        downloads.run("d", lambda: "d again")
