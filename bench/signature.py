"""Row "verify": Alexa request verification with the chain already cached, against one bare RSA verify."""

from __future__ import annotations

import base64
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness import Figure, interleave, median

#: Any well-formed Amazon URL: the fetch seam answers it with the test chain.
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-bench.pem"
SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"


@dataclass
class BenchPki:
    """The throwaway PKI of tests/pki.py, with the root written to a CA bundle file."""

    pki: object  # tests.pki.Pki
    chain_pem: bytes
    root_path: Path

    def signed_request(self, envelope: dict) -> tuple[dict[str, str], bytes]:
        """Headers and body as Alexa would send them for ``envelope``."""
        from tests.pki import signed_headers

        body = json.dumps(envelope).encode()
        return signed_headers(body, self.pki.leaf_key, CERT_URL), body  # type: ignore[attr-defined]


def make_test_pki(directory: Path) -> BenchPki:
    """A fresh test PKI; its root goes to ``directory/root.pem``."""
    from tests.pki import make_pki

    pki = make_pki()
    root_path = directory / "root.pem"
    root_path.write_bytes(pki.root_pem)
    return BenchPki(pki, pki.chain_pem, root_path)


def time_per_call_us(call: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n * 1e6


def measure_verify(n: int = 2000, repeats: int = 7) -> list[Figure]:
    """µs per RequestVerifier.verify (cached chain) and per bare RSA-2048 PKCS#1 v1.5 verify, interleaved."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from skill.alexa import build_request_envelope
    from skill.replay import ReplayGuard
    from skill.verify import RequestVerifier

    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        test_pki = make_test_pki(Path(tmp))
        envelope = build_request_envelope("IntentRequest", "LocateIntent", {"User": "Paulus"}, application_id=SKILL_ID)
        headers, body = test_pki.signed_request(envelope)
        fetched: list[str] = []

        def fetch(url: str) -> bytes:
            fetched.append(url)
            return test_pki.chain_pem

        verifier = RequestVerifier(skill_id=SKILL_ID, ca_bundle=str(test_pki.root_path), fetch=fetch)
        try:
            verifier.verify(headers, body, envelope)  # fetches and caches the chain
            verifier.replays = ReplayGuard()
            public_key = test_pki.pki.leaf.public_key()  # type: ignore[attr-defined]
            signature = base64.b64decode(headers["Signature-256"])

            def ours() -> None:
                # One signed request again and again: a fresh replay memory each time, or the
                # second call would be refused as a replay (remembering the id is part of the cost).
                verifier.replays = ReplayGuard()
                verifier.verify(headers, body, envelope)

            def anchor() -> None:
                public_key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())

            for _ in range(max(n // 10, 10)):
                ours()
                anchor()
            samples = interleave(
                {"ours": lambda: time_per_call_us(ours, n), "anchor": lambda: time_per_call_us(anchor, n)}, repeats
            )
        finally:
            verifier.close()
    ours_us, anchor_us = median(samples["ours"]), median(samples["anchor"])
    common = {"samples": samples, "extra": {"n": n, "repeats": repeats, "chain_fetches": len(fetched)}}
    anchor_name = "one RSA-2048 PKCS#1 v1.5 SHA-256 verify (cryptography)"
    return [
        Figure("verify", "verify, cached chain", "µs/req", ours_us, anchor_us, anchor_name, ("<=", 3.0), **common),
        Figure("verify", "verify, cached chain", "ms/req", ours_us / 1000, goal=("value<", 0.5)),
    ]
