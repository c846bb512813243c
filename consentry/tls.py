"""TLS served directly: a local certificate authority and a server certificate for development.

The node Auth0 SDKs and auth0-python's ``ManagementClient(domain=…)`` only speak ``https://``. ``consentry tls
dev-cert`` makes what they need to talk to a local Consentry: a CA (kept and reused, so clients trust it once)
and a server certificate for the issuer's host signed by it (issued anew each time). ``consentry serve`` serves
the pair named by ``CONSENTRY_TLS_CERT_FILE`` / ``CONSENTRY_TLS_KEY_FILE`` (checked first by ``tls_check``).
Everything is built with ``cryptography``, with what strict verifiers require (key identifiers, critical basic
constraints and key usage).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT, CA_KEY, CERT, KEY = "ca.pem", "ca-key.pem", "cert.pem", "key.pem"
CA_LIFETIME = timedelta(days=3650)
CERT_LIFETIME = timedelta(days=397)  # the longest server certificate lifetime browsers accept
BACKDATE = timedelta(hours=1)  # tolerate a client clock that is a little behind
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class DevCert:
    """The files written and what the server certificate covers."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    hosts: tuple[str, ...]
    not_after: datetime
    ca_created: bool


def certificate_hosts(issuer_url: str, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The issuer's host first, then ``extra`` and the loopback names, without duplicates."""
    first = urlsplit(issuer_url).hostname or "localhost"
    return tuple(dict.fromkeys(h.strip().lower() for h in (first, *extra, *LOCAL_HOSTS) if h.strip()))


def _name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write(path: Path, data: bytes, private: bool) -> None:
    """Replace ``path``; private keys are created readable by their owner only."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _make_ca(host: str, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Consentry"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Consentry development CA ({host})"[:64]),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _load_ca(out: Path, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """The CA already in ``out`` if it is complete and valid for as long as a new server certificate."""
    cert_path, key_path = out / CA_CERT, out / CA_KEY
    if not (cert_path.exists() and key_path.exists()):
        return None
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except ValueError as exc:
        problem = f"cannot read the CA in {out} ({exc}); remove {CA_CERT} and {CA_KEY} to make a new one"
        raise ValueError(problem) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise ValueError(f"{CA_KEY} in {out} is not the key of {CA_CERT}; remove both to make a new CA")
    return (cert, key) if cert.not_valid_after_utc > now + CERT_LIFETIME else None


def _make_server_cert(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, hosts: Sequence[str], now: datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0][:64])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CERT_LIFETIME)
        .add_extension(x509.SubjectAlternativeName([_name(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def issue_dev_cert(out: Path, hosts: Sequence[str], now: datetime | None = None) -> DevCert:
    """Write ``ca.pem``/``ca-key.pem`` (unless a valid CA is there) and a new ``cert.pem``/``key.pem`` for ``hosts``."""
    if not hosts:
        raise ValueError("the certificate needs at least one host")
    now = now or datetime.now(UTC)
    out.mkdir(parents=True, exist_ok=True)
    loaded = _load_ca(out, now)
    ca, ca_key = loaded or _make_ca(hosts[0], now)
    if loaded is None:
        _write(out / CA_KEY, _pem_key(ca_key), private=True)
        _write(out / CA_CERT, ca.public_bytes(serialization.Encoding.PEM), private=False)
    cert, key = _make_server_cert(ca, ca_key, hosts, now)
    _write(out / KEY, _pem_key(key), private=True)
    _write(out / CERT, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return DevCert(
        ca_file=(out / CA_CERT).resolve(),
        cert_file=(out / CERT).resolve(),
        key_file=(out / KEY).resolve(),
        hosts=tuple(hosts),
        not_after=cert.not_valid_after_utc,
        ca_created=loaded is None,
    )
