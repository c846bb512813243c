"""``consentry tls dev-cert``: a local CA and a server certificate a real TLS client accepts for the issuer's host;
``consentry serve`` refuses a certificate and key that do not belong together before touching the database."""

from __future__ import annotations

import shlex
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from typer.testing import CliRunner

from consentry.cli import app

ISSUER = "https://auth.dev.test:8443/"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for key in [k for k in __import__("os").environ if k.startswith("CONSENTRY_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("CONSENTRY_ISSUER", ISSUER)
    monkeypatch.setenv("CONSENTRY_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def dev_cert(*args: str) -> dict[str, str]:
    """Run the command; its stdout is shell: the ``export NAME=value`` lines as a dict."""
    result = CliRunner().invoke(app, ["tls", "dev-cert", *args])
    assert result.exit_code == 0, result.output
    exports = {}
    for line in result.stdout.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            exports[name] = shlex.split(value)[0]
        else:
            assert line.startswith("#"), line  # comments only: the output can be eval'ed
    return exports


def handshake(ca: str, cert: str, key: str, server_name: str) -> x509.Certificate:
    """A real TLS handshake in memory: a client trusting only ``ca`` connects to a server serving ``cert``."""
    client_ctx = ssl.create_default_context(cafile=ca)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_name)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, side in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            break
    assert all(done.values()), "the handshake did not complete"
    peer = client.getpeercert(binary_form=True)
    assert peer is not None
    return x509.load_der_x509_certificate(peer)


def test_dev_cert_prints_the_settings_and_how_to_trust_the_ca(cli_env: Path) -> None:
    env = dev_cert()
    tls = cli_env / "data" / "tls"
    assert env == {
        "CONSENTRY_TLS_CERT_FILE": str(tls / "cert.pem"),
        "CONSENTRY_TLS_KEY_FILE": str(tls / "key.pem"),
        "CONSENTRY_ISSUER": ISSUER,
        "NODE_EXTRA_CA_CERTS": str(tls / "ca.pem"),
        "SSL_CERT_FILE": str(tls / "ca.pem"),
        "REQUESTS_CA_BUNDLE": str(tls / "ca.pem"),
    }
    for key in ("key.pem", "ca-key.pem"):
        assert stat.S_IMODE((tls / key).stat().st_mode) == 0o600, key
    ca, cert, key = env["SSL_CERT_FILE"], env["CONSENTRY_TLS_CERT_FILE"], env["CONSENTRY_TLS_KEY_FILE"]
    for name in ("auth.dev.test", "localhost", "127.0.0.1"):
        handshake(ca, cert, key, name)
    with pytest.raises(ssl.SSLCertVerificationError, match="match"):
        handshake(ca, cert, key, "other.example.com")
    leaf = x509.load_pem_x509_certificate(Path(cert).read_bytes())
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["auth.dev.test", "localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]


def test_dev_cert_keeps_its_ca_and_issues_a_new_certificate(cli_env: Path) -> None:
    first = dev_cert("--out", "certs")
    ca_before = Path(first["SSL_CERT_FILE"]).read_bytes()
    cert_before = Path(first["CONSENTRY_TLS_CERT_FILE"]).read_bytes()
    again = dev_cert("--out", "certs", "--host", "api.dev.test")
    assert Path(again["SSL_CERT_FILE"]).read_bytes() == ca_before  # clients that trust it keep trusting
    assert Path(again["CONSENTRY_TLS_CERT_FILE"]).read_bytes() != cert_before
    assert Path(again["SSL_CERT_FILE"]).parent == cli_env / "certs"
    handshake(again["SSL_CERT_FILE"], again["CONSENTRY_TLS_CERT_FILE"], again["CONSENTRY_TLS_KEY_FILE"], "api.dev.test")


def test_serve_refuses_a_key_that_is_not_the_certificates(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = dev_cert()
    monkeypatch.setenv("CONSENTRY_TLS_CERT_FILE", env["CONSENTRY_TLS_CERT_FILE"])
    monkeypatch.setenv("CONSENTRY_TLS_KEY_FILE", str(Path(env["SSL_CERT_FILE"]).with_name("ca-key.pem")))
    monkeypatch.setenv("CONSENTRY_DATABASE_URL", "sqlite+aiosqlite:///" + str(cli_env / "never-created.db"))
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot use CONSENTRY_TLS_CERT_FILE / CONSENTRY_TLS_KEY_FILE")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (cli_env / "never-created.db").exists()  # checked before migrating
    monkeypatch.setenv("CONSENTRY_TLS_KEY_FILE", str(cli_env / "missing.pem"))
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2 and "CONSENTRY_TLS_KEY_FILE: no such file" in result.stderr
