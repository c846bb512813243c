"""Fixtures for the interop tests: one live server per session, its admin, one headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.interop.harness import Admin, AppServer, LiveServer
from tests.support.browser import launch_chromium, require_chromium


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
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def browser_context(chromium: Any) -> AsyncIterator[Any]:
    """A fresh profile (no cookies) per test."""
    context = await chromium.new_context()
    context.set_default_timeout(15_000)
    context.set_default_navigation_timeout(15_000)
    try:
        yield context
    finally:
        await context.close()
