"""A local HTTPS server for Client ID Metadata Documents, with a throwaway CA the fetcher is told to trust.

The CA reaches Consentry through the ``cimd_ca_file`` setting (no network, no system trust store change).
Each test sets the routes it serves; ``server.requests`` records what reached the server.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from consentry.runtime import Runtime
from consentry.storage.models import Client

HOSTNAME = "cimd.test"  # resolved to 127.0.0.1 by a patched resolver in the tests that use it


async def store_admin_client(runtime: Runtime, client_id: str, name: str, now: float) -> None:
    """A first-party client registered by other means whose ``client_id`` happens to be a document URL."""
    async with runtime.db.transaction() as s:
        s.add(
            Client(
                client_id=client_id,
                name=name,
                app_type="native",
                is_first_party=True,
                token_endpoint_auth_method="none",
                callbacks=[],
                allowed_logout_urls=[],
                web_origins=[],
                allowed_origins=[],
                grant_types=[],
                registration_type="admin",
                attributes={},
                created_at=now,
                updated_at=now,
            )
        )


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca_and_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1, localhost and cimd.test; returns (ca, cert, key) paths."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Consentry test CA"))
        .issuer_name(_name("Consentry test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"), x509.DNSName(HOSTNAME)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


@dataclass
class Served:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0  # seconds before answering
    drip: float = 0.0  # seconds between body bytes (a slow body)
    content_length: bool = True


class DocServer:
    def __init__(self, cert: Path, key: Path) -> None:
        self.routes: dict[str, Served] = {}
        self.requests: list[dict[str, Any]] = []
        self.sni: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append(
                    {
                        "path": self.path,
                        "host": self.headers.get("Host"),
                        "accept_encoding": self.headers.get("Accept-Encoding"),
                    }
                )
                route = server.routes.get(self.path) or Served(b'{"error":"not found"}', status=404)
                time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    for k, v in route.headers.items():
                        self.send_header(k, v)
                    if route.content_length:
                        self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    if route.drip:
                        for i in range(len(route.body)):
                            self.wfile.write(route.body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(route.drip)
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)  # type: ignore[assignment,misc]
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    def serve_doc(self, path: str, host: str = "127.0.0.1", cache_control: str | None = None, **members: Any) -> str:
        """Serve a valid document at ``path`` (``members`` override or, with None, remove fields); returns its URL."""
        url = self.url(path, host)
        doc: dict[str, Any] = {"client_id": url, "client_name": "Agent", "redirect_uris": ["http://127.0.0.1:9299/cb"]}
        doc.update(members)
        headers = {"Content-Type": "application/json"}
        if cache_control:
            headers["Cache-Control"] = cache_control
        body = json.dumps({k: v for k, v in doc.items() if v is not None}).encode()
        self.routes[path] = Served(body, headers=headers)
        return url

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_ca_and_cert(tmp_path_factory.mktemp("cimd-tls"))


@pytest.fixture(scope="session")
def doc_server(tls_files: tuple[Path, Path, Path]) -> Iterator[DocServer]:
    server = DocServer(tls_files[1], tls_files[2])
    yield server
    server.stop()


@pytest.fixture
def server(doc_server: DocServer) -> DocServer:
    doc_server.routes.clear()
    doc_server.requests.clear()
    doc_server.sni.clear()
    return doc_server


@pytest.fixture
def settings_overrides(tls_files: tuple[Path, Path, Path]) -> dict[str, Any]:
    """Loopback is allowed here (the document server is on 127.0.0.1) and the test CA is trusted."""
    return {"cimd_allow_private_addresses": True, "cimd_ca_file": tls_files[0], "cimd_fetch_timeout": 1.0}
