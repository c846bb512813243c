"""Fixtures for the interop tests: one live server per session, its admin, one headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.interop.harness import Admin, AppServer, LiveServer
from tests.support.browser import fresh_context, running_chromium


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("interop-server")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def admin(live: LiveServer) -> Iterator[Admin]:
    a = Admin(live)
    try:
        yield a
    finally:
        a.close()


@pytest.fixture
def app_server() -> Iterator[AppServer]:
    """The relying party's own web server (its callback URL and pages)."""
    with AppServer() as server:
        yield server


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    async with running_chromium() as browser:
        yield browser


@pytest.fixture
async def browser_context(chromium: Any) -> AsyncIterator[Any]:
    """A fresh profile (no cookies) per test."""
    async with fresh_context(chromium) as context:
        yield context
