"""Settings: the issuer contract and one-line errors for bad configuration (SPEC §1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consentry.settings import SettingsError, load_settings
from consentry.settings_doc import render


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("CONSENTRY_"):
            monkeypatch.delenv(key)


def test_default_issuer_follows_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().issuer_url == "http://127.0.0.1:8080/"
    monkeypatch.setenv("CONSENTRY_PORT", "18080")
    cfg = load_settings()
    assert cfg.issuer_url == "http://127.0.0.1:18080/"
    assert cfg.management_audience == "http://127.0.0.1:18080/api/v2/"
    assert cfg.url("oauth/token") == "http://127.0.0.1:18080/oauth/token"


def test_issuer_is_kept_byte_for_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENTRY_ISSUER", "https://auth.example.com/tenant/")
    assert load_settings().issuer_url == "https://auth.example.com/tenant/"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("CONSENTRY_ISSUER", "https://auth.example.com", "trailing slash"),
        ("CONSENTRY_ISSUER", "ftp://auth.example.com/", "http(s)"),
        ("CONSENTRY_ISSUER", "https://auth.example.com/?x=1", "query"),
        ("CONSENTRY_PORT", "http", "CONSENTRY_PORT"),
        ("CONSENTRY_PORT", "70000", "CONSENTRY_PORT"),
        ("CONSENTRY_DATABASE_URL", "mysql://x", "CONSENTRY_DATABASE_URL"),
        ("CONSENTRY_WORKERS", "-1", "CONSENTRY_WORKERS"),
        ("CONSENTRY_DATABASE_POOL_SIZE", "0", "CONSENTRY_DATABASE_POOL_SIZE"),
        ("CONSENTRY_NOPE", "1", "unknown setting CONSENTRY_NOPE"),
    ],
)
def test_bad_settings_fail_with_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message and fragment in message


def test_production_refuses_http_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENTRY_ENV", "production")
    monkeypatch.setenv("CONSENTRY_ISSUER", "http://auth.example.com/")
    with pytest.raises(SettingsError, match="https"):
        load_settings()


def test_configuration_doc_is_generated_from_the_settings() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    assert doc.read_text() == render(), "run: python -m consentry.settings_doc > docs/configuration.md"


@pytest.mark.parametrize(
    ("url", "pool_size", "kept", "burst"),
    [
        ("postgresql+asyncpg://consentry@db.example/consentry", None, 20, 0),  # no burst connections
        ("postgresql+asyncpg://consentry@db.example/consentry", "7", 7, 0),
        ("postgresql+asyncpg://consentry@/consentry?host=/var/run/postgresql", None, 20, 0),  # the Unix socket
        ("sqlite+aiosqlite:///{tmp}/pool.db", "40", 5, 10),  # SQLite keeps at most 5 (one writer anyway)
    ],
)
async def test_database_pool_size_reaches_the_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, pool_size: str | None, kept: int, burst: int
) -> None:
    from consentry.storage.db import Database

    monkeypatch.setenv("CONSENTRY_DATABASE_URL", url.format(tmp=tmp_path))
    if pool_size is not None:
        monkeypatch.setenv("CONSENTRY_DATABASE_POOL_SIZE", pool_size)
    cfg = load_settings()
    db = Database(cfg.database_url, pool_size=cfg.database_pool_size)  # what Runtime.create does
    try:
        pool = db.engine.pool
        assert (pool.size(), pool._max_overflow) == (kept, burst)  # no connection is opened
    finally:
        await db.dispose()


def test_tls_makes_the_default_issuer_https_and_cookies_secure(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not load_settings().secure_cookies
    monkeypatch.setenv("CONSENTRY_TLS_CERT_FILE", "/etc/consentry/cert.pem")
    monkeypatch.setenv("CONSENTRY_TLS_KEY_FILE", "/etc/consentry/key.pem")
    cfg = load_settings()
    assert cfg.tls_enabled and cfg.issuer_url == "https://127.0.0.1:8080/" and cfg.secure_cookies
    monkeypatch.setenv("CONSENTRY_ISSUER", "https://auth.example.com/")
    assert load_settings().issuer_url == "https://auth.example.com/"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"CONSENTRY_TLS_CERT_FILE": "/c.pem"}, "must be set together"),
        ({"CONSENTRY_TLS_KEY_FILE": "/k.pem"}, "must be set together"),
        (
            {
                "CONSENTRY_TLS_CERT_FILE": "/c.pem",
                "CONSENTRY_TLS_KEY_FILE": "/k.pem",
                "CONSENTRY_ISSUER": "http://auth.example.com/",
            },
            "issuer must be https:// when TLS is served",
        ),
    ],
)
def test_tls_settings_are_checked(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], fragment: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "\n" not in str(info.value) and fragment in str(info.value)
