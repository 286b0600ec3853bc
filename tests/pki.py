"""A throwaway PKI for tests that sign Alexa requests: root CA, intermediate CA, signing leaf.

RSA keys are generated once per name per process (``rsa_key``), so building many
certificates stays fast. Nothing here is fit for production use.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from skill.const import ALEXA_CERT_SAN

CertificateKey = rsa.RSAPrivateKey


@functools.cache
def rsa_key(name: str) -> CertificateKey:
    """Return an RSA-2048 key, generated once per ``name`` for the whole test run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ski(key: CertificateKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key())


def make_ca(
    common_name: str,
    key: CertificateKey,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
    issuer: x509.Certificate | None = None,
    issuer_key: CertificateKey | None = None,
) -> x509.Certificate:
    """Return a CA certificate: self-signed (a root) unless ``issuer``/``issuer_key`` are given."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(_ski(key), critical=False)
    )
    if issuer is not None and issuer_key is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def make_leaf(
    issuer: x509.Certificate,
    issuer_key: CertificateKey,
    key: CertificateKey,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
    dns_names: tuple[str, ...] = (ALEXA_CERT_SAN,),
    common_name: str = ALEXA_CERT_SAN,
) -> x509.Certificate:
    """Return an end-entity certificate issued by ``issuer``; no SAN extension when ``dns_names`` is empty."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_ski(key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class Pki:
    """A root CA, an intermediate CA it signed, and a signing leaf the intermediate issued."""

    root: x509.Certificate
    root_key: CertificateKey
    intermediate: x509.Certificate
    intermediate_key: CertificateKey
    leaf: x509.Certificate
    leaf_key: CertificateKey

    @property
    def chain_pem(self) -> bytes:
        """Return the chain as Alexa serves it: leaf first, then the intermediate."""
        return pem(self.leaf, self.intermediate)

    @property
    def root_pem(self) -> bytes:
        """Return the root certificate as PEM, for a ``ca_bundle`` file."""
        return pem(self.root)

    def reissue(
        self,
        *,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        dns_names: tuple[str, ...] | None = None,
    ) -> Pki:
        """Return a copy with a new leaf from the same intermediate; unset fields keep the old leaf's."""
        leaf = make_leaf(
            self.intermediate,
            self.intermediate_key,
            self.leaf_key,
            not_before=not_before or self.leaf.not_valid_before_utc,
            not_after=not_after or self.leaf.not_valid_after_utc,
            dns_names=dns_names if dns_names is not None else (ALEXA_CERT_SAN,),
        )
        return Pki(self.root, self.root_key, self.intermediate, self.intermediate_key, leaf, self.leaf_key)


def make_pki(
    *,
    now: dt.datetime | None = None,
    root_name: str = "Test Alexa Root CA",
    leaf_not_before: dt.datetime | None = None,
    leaf_not_after: dt.datetime | None = None,
    dns_names: tuple[str, ...] = (ALEXA_CERT_SAN,),
) -> Pki:
    """Return a fresh PKI valid around ``now`` (default: the real time); keys come from ``rsa_key``."""
    now = now or dt.datetime.now(dt.UTC)
    root_key, inter_key, leaf_key = rsa_key(root_name), rsa_key("intermediate"), rsa_key("leaf")
    start, end = now - dt.timedelta(days=365), now + dt.timedelta(days=3650)
    root = make_ca(root_name, root_key, not_before=start, not_after=end)
    intermediate = make_ca(
        "Test Alexa Intermediate CA", inter_key, not_before=start, not_after=end, issuer=root, issuer_key=root_key
    )
    leaf = make_leaf(
        intermediate,
        inter_key,
        leaf_key,
        not_before=leaf_not_before or now - dt.timedelta(days=30),
        not_after=leaf_not_after or now + dt.timedelta(days=365),
        dns_names=dns_names,
    )
    return Pki(root, root_key, intermediate, inter_key, leaf, leaf_key)


def make_tls_server_cert(host: str = "127.0.0.1", dns_names: tuple[str, ...] = ("localhost",)) -> tuple[bytes, bytes]:
    """Return ``(cert_pem, key_pem)``: a self-signed certificate for a local HTTPS test server.

    ``dns_names`` lets it pose as another host (``s3.amazonaws.com`` behind a loopback proxy).
    """
    key = rsa_key("tls-server")
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(_name(host))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), *(x509.DNSName(name) for name in dns_names)]
            ),
            critical=False,
        )
        .add_extension(_ski(key), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem(cert), key_pem


def pem(*certs: x509.Certificate) -> bytes:
    """Return the certificates as concatenated PEM blocks, in the order given."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def sign(body: bytes, key: CertificateKey) -> str:
    """Return the ``Signature-256`` header value for ``body``: base64 RSA PKCS#1 v1.5 over SHA-256."""
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def signed_headers(body: bytes, key: CertificateKey, cert_url: str) -> dict[str, str]:
    """Return the HTTP headers Alexa would send with ``body`` signed by ``key``."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "SignatureCertChainUrl": cert_url,
        "Signature-256": sign(body, key),
    }
