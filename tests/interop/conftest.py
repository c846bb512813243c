"""Fixtures for the interop tests: one live server per session (and one serving https), its admin, one Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.fixtures import live_browser_fixtures
from tests.interop.harness import AppServer, LiveServer

live, admin, chromium, browser_context = live_browser_fixtures("session", "interop-server")


@pytest.fixture(scope="session")
def https_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A second server that serves https itself (``CONSENTRY_TLS_*``, the ``consentry tls dev-cert`` certificate)."""
    server = LiveServer(tmp_path_factory.mktemp("tls-server"), tls=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ca_file(https_live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The https server's CA, trusted by this process's Python clients as ``consentry tls dev-cert`` says
    (``SSL_CERT_FILE`` for httpx, ``REQUESTS_CA_BUNDLE`` for requests)."""
    assert https_live.process is not None and https_live.process.ca_file is not None
    ca = https_live.process.ca_file
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    return ca


@pytest.fixture
def app_server() -> Iterator[AppServer]:
    """The relying party's own web server (its callback URL and pages)."""
    with AppServer() as server:
        yield server
