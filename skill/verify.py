"""Alexa request verification for a skill hosted as a web service.

Implements Amazon's rules,
https://developer.amazon.com/en-US/docs/alexa/custom-skills/host-a-custom-skill-as-a-web-service.html:
the skill id always; unless turned off, the request timestamp, the ``SignatureCertChainUrl``,
the downloaded certificate chain and the ``Signature-256`` over the raw body.

Decisions the spec leaves open (each refusal is a :class:`~skill.errors.VerificationError`):

- The certificate URL must be plain ASCII with no query, fragment or user info. Amazon's URLs
  have none, and the URL that was checked is exactly the one fetched (normalized, port dropped).
- Dot segments are removed (RFC 3986) without decoding percent-escapes, but an escaped ``.``,
  ``/`` or ``\\`` is refused: ``requests`` would decode ``%2e`` and urllib3 would then remove the
  dots, so ``/echo.api/%2e%2e/other-bucket/`` would be fetched from another bucket.
- Redirects are not followed; only HTTP 200 is a chain.
- A chain is cached (by normalized URL) only after it verified; a cached chain is verified
  again on every request (about 0.1 ms), so dates are always checked against the clock.
- With signatures checked, a ``request.requestId`` accepted before is refused while its
  timestamp is still valid: a replayed request (skill.replay).
- Downloads are shared per URL and bounded in time, size and number, and a URL whose download
  failed is refused for a while without a new one (skill.cert_download).

Importing this module is cheap: ``cryptography``, ``requests`` and ``certifi`` load on first use.

The parts: skill.request_check (the skill id and the timestamp, no certificate needed; the Lambda
handler uses it alone), skill.cert_url (the certificate URL rules) and here the chain and the signature.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import re
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .cert_download import DownloadError, SharedDownloads, fetch_bounded
from .cert_url import normalize_cert_url, validate_cert_url
from .const import (
    ALEXA_CERT_SAN,
)
from .errors import ConfigError, VerificationError
from .replay import ReplayGuard
from .request_check import MAX_ECHO_CHARS, check_application_id, check_timestamp, clip, get_in

if TYPE_CHECKING:
    import requests
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.x509.verification import Store

logger = logging.getLogger(__name__)

CERT_URL_HEADER: Final = "SignatureCertChainUrl"
SIGNATURE_HEADER: Final = "Signature-256"
#: The SHA-1 signature Alexa also sends; never accepted on its own.
LEGACY_SIGNATURE_HEADER: Final = "Signature"
MAX_SIGNATURE_CHARS: Final = 2048
_PEM_CERT_RE: Final = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
_CRYPTOGRAPHY_DETAIL_RE: Final = re.compile(r"^validation failed: |\s*\(encountered processing .*\)$")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Look a header up case-insensitively (a plain dict is not)."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return value.strip() if isinstance(value, str) else None


def _decode_signature(value: str) -> bytes:
    if not value:
        raise VerificationError(f"{SIGNATURE_HEADER} header is empty")
    if len(value) > MAX_SIGNATURE_CHARS:
        raise VerificationError(f"{SIGNATURE_HEADER} header is longer than {MAX_SIGNATURE_CHARS} characters")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(f"{SIGNATURE_HEADER} header is not valid base64: {clip(value)}") from None


def _load_roots(path: str) -> Store:
    """Read the trusted roots once; a certificate cryptography cannot parse is skipped, not fatal."""
    from cryptography import x509
    from cryptography.utils import CryptographyDeprecationWarning
    from cryptography.x509.verification import Store

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise ConfigError(f"cannot read CA bundle {path}: {err.strerror}") from err
    roots = []
    # certifi still ships roots with serial number 0 (Starfield, GoDaddy, ...): today a
    # deprecation warning, in a later cryptography an error. Neither should stop the service.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for block in _PEM_CERT_RE.findall(data):
            try:
                roots.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                logger.debug("skipping a certificate of %s that cannot be parsed", path)
    if not roots:
        raise ConfigError(f"CA bundle {path} holds no certificate")
    return Store(roots)


def _explain_path_failure(leaf: x509.Certificate, intermediates: list[x509.Certificate], when: dt.datetime) -> None:
    """Name an issuer outside its validity window: cryptography reports that as "candidates exhausted"."""
    by_subject = {cert.subject: cert for cert in intermediates}
    issuer, seen = by_subject.get(leaf.issuer), set()
    while issuer is not None and issuer.subject not in seen:
        if when > issuer.not_valid_after_utc:
            raise VerificationError(f"an intermediate certificate expired at {issuer.not_valid_after_utc}")
        if when < issuer.not_valid_before_utc:
            raise VerificationError(f"an intermediate certificate is not valid before {issuer.not_valid_before_utc}")
        seen.add(issuer.subject)
        issuer = by_subject.get(issuer.issuer)


@dataclass(frozen=True)
class _Chain:
    """A downloaded chain that verified once.

    ``valid_from`` and ``expires`` (epoch s) bound the window in which every certificate on its
    verified path is valid: the latest notBefore and the earliest notAfter.
    """

    leaf: x509.Certificate
    intermediates: list[x509.Certificate]
    public_key: RSAPublicKey
    expires: float
    valid_from: float


class RequestVerifier:
    """Checks that a request comes from Alexa for this skill; build once, share across threads."""

    def __init__(
        self,
        *,
        skill_id: str | None = None,
        verify_signature: bool = True,
        ca_bundle: str | None = None,
        fetch: Callable[[str], bytes] | None = None,
        clock: Callable[[], float] = time.time,
        cache_size: int = 32,
        session: requests.Session | None = None,
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self.skill_id = skill_id
        self.verify_signature = verify_signature
        self._fetch = fetch or self._fetch_with_requests
        self._clock = clock
        self._cache_size = cache_size
        self._session = session
        self._owns_session = session is None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, _Chain] = OrderedDict()
        self._downloads: SharedDownloads[_Chain] = SharedDownloads(clock=clock)
        #: Request ids accepted while their timestamps are still valid: a second one is a replay.
        self.replays = ReplayGuard()
        self._roots: Store | None = None
        if verify_signature:
            if ca_bundle is None:
                import certifi

                ca_bundle = certifi.where()
            self._roots = _load_roots(ca_bundle)

    def __enter__(self) -> RequestVerifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session if this verifier opened it."""
        if not self._owns_session:
            return
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    def verify(self, headers: Mapping[str, str], body: bytes, envelope: dict) -> None:
        """Raise VerificationError(reason) unless the request passes every check.

        ``envelope`` is ``json.loads(body)``, already parsed by the caller.
        """
        check_application_id(envelope, self.skill_id)
        if not self.verify_signature:
            return
        now = self._clock()
        accepted_until = check_timestamp(envelope, now)
        signature = _header(headers, SIGNATURE_HEADER)
        if signature is None:
            if _header(headers, LEGACY_SIGNATURE_HEADER) is not None:
                raise VerificationError(f"only the SHA-1 Signature header was sent; {SIGNATURE_HEADER} is required")
            raise VerificationError(f"{SIGNATURE_HEADER} header is missing")
        cert_url = _header(headers, CERT_URL_HEADER)
        if not cert_url:
            raise VerificationError(f"{CERT_URL_HEADER} header is missing")
        url = normalize_cert_url(cert_url)
        signature_bytes = _decode_signature(signature)
        chain = self._chain(url, now)
        self._check_signature(chain, signature_bytes, body)
        request_id = get_in(envelope, "request", "requestId")
        if not isinstance(request_id, str) or not request_id:
            raise VerificationError("request.requestId is missing")
        self.replays.check(request_id, accepted_until, now)

    # -- certificate chain ------------------------------------------------------------------

    def _chain(self, url: str, now: float) -> _Chain:
        """Return the verified chain for ``url``: from the cache, or downloaded once however many threads ask."""
        with self._lock:
            chain = self._cache.get(url)
            if chain is not None:
                if now <= chain.expires:  # notAfter is inclusive
                    self._cache.move_to_end(url)
                else:
                    del self._cache[url]
                    chain = None
        if chain is not None:
            self._check_chain(chain, now)  # dates may have passed since it was cached
            return chain
        return self._downloads.run(url, lambda: self._load_and_cache(url, now))

    def _load_and_cache(self, url: str, now: float) -> _Chain:
        """Fetch, parse and verify the chain at ``url`` (in a download thread); keep it once it verified."""
        chain = self._load_chain(url, now)
        with self._lock:
            self._cache[url] = chain
            self._cache.move_to_end(url)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return chain

    def _load_chain(self, url: str, now: float) -> _Chain:
        """Fetch, parse and verify the chain at ``url``."""
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

        try:
            data = self._fetch(url)
        except VerificationError as err:
            logger.warning("could not fetch certificate chain %s: %s", url, err)
            raise DownloadError(str(err)) from err
        except Exception as err:
            logger.warning("could not fetch certificate chain %s: %s", url, err)
            raise DownloadError(f"could not fetch certificate chain: {type(err).__name__}") from err
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise VerificationError("certificate chain is not a PEM certificate list") from None
        leaf, intermediates = certs[0], certs[1:]
        # Amazon says the name must be *present*; a wildcard that merely matches it is not.
        try:
            san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = {name.lower() for name in san.get_values_for_type(x509.DNSName)}
        except (x509.ExtensionNotFound, ValueError):
            names = set()
        if ALEXA_CERT_SAN not in names:
            raise VerificationError(f"signing certificate is not issued to {ALEXA_CERT_SAN} (subjectAltName)")
        public_key = leaf.public_key()
        if not isinstance(public_key, RSAPublicKey):
            raise VerificationError("signing certificate does not hold an RSA key")
        path = self._verify_path(leaf, intermediates, now)
        # The entry ends when the first certificate on the verified path expires (the leaf at the latest).
        expires = min(c.not_valid_after_utc for c in path).timestamp()
        valid_from = max(c.not_valid_before_utc for c in path).timestamp()
        return _Chain(leaf, intermediates, public_key, expires, valid_from)

    def _check_chain(self, chain: _Chain, now: float) -> None:
        """Check a cached chain at ``now``.

        The path, names and roots of a verified chain cannot change; only time can invalidate it.
        Inside the validity window of every certificate on its path nothing needs checking again
        (the cache already drops the entry after ``expires``); outside it, verify in full, which
        refuses with the precise reason.
        """
        if not chain.valid_from <= now <= chain.expires:
            self._verify_path(chain.leaf, chain.intermediates, now)

    def _verify_path(
        self, leaf: x509.Certificate, intermediates: list[x509.Certificate], now: float
    ) -> list[x509.Certificate]:
        """Verify dates, SAN and the path to a trusted root at ``now``; return the path, leaf to root."""
        from cryptography.x509 import verification

        when = dt.datetime.fromtimestamp(now, dt.UTC)
        # cryptography's message does not say which end of which window failed; these do.
        if when < leaf.not_valid_before_utc:
            raise VerificationError(f"signing certificate is not valid before {leaf.not_valid_before_utc}")
        if when > leaf.not_valid_after_utc:
            raise VerificationError(f"signing certificate expired at {leaf.not_valid_after_utc}")
        assert self._roots is not None
        verifier = (
            verification.PolicyBuilder()
            .store(self._roots)
            .time(when)
            .build_server_verifier(verification.DNSName(ALEXA_CERT_SAN))
        )
        try:
            return verifier.verify(leaf, intermediates)
        except verification.VerificationError as err:
            _explain_path_failure(leaf, intermediates, when)
            detail = _CRYPTOGRAPHY_DETAIL_RE.sub("", str(err))
            if "candidates exhausted" in detail:
                hint = "" if intermediates else " (the chain holds no intermediate certificate)"
                raise VerificationError(f"certificate chain does not lead to a trusted root{hint}") from None
            raise VerificationError(f"certificate chain rejected: {detail[:MAX_ECHO_CHARS]}") from None

    @staticmethod
    def _check_signature(chain: _Chain, signature: bytes, body: bytes) -> None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            chain.public_key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise VerificationError(f"{SIGNATURE_HEADER} does not match the request body") from None

    # -- default fetcher --------------------------------------------------------------------

    def _get_session(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                import requests

                self._session = requests.Session()
            return self._session

    def _fetch_with_requests(self, url: str) -> bytes:
        """Download ``url`` with the session (env proxies and REQUESTS_CA_BUNDLE apply), bounded in time and size."""
        return fetch_bounded(self._get_session(), url)


__all__ = ["RequestVerifier", "check_application_id", "validate_cert_url"]
