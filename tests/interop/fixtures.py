"""The fixtures of a test that drives a live server with a browser, defined once at any scope.

The interop tests share one server per session (``tests/interop/conftest.py``); the first-party e2e test
starts its own per module. Both take ``live``, ``admin``, ``chromium`` and ``browser_context`` from here::

    live, admin, chromium, browser_context = live_browser_fixtures("module", "e2e-first-party")
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import pytest

from tests.interop.harness import Admin, LiveServer
from tests.support.browser import fresh_context, running_chromium

Scope = Literal["session", "package", "module", "class", "function"]


def live_browser_fixtures(scope: Scope, folder: str) -> tuple[Any, Any, Any, Any]:
    """``live`` (``consentry serve`` in a fresh ``folder``), its ``admin`` and one ``chromium`` at ``scope``,
    and ``browser_context``: a fresh profile (no cookies) per test."""

    @pytest.fixture(scope=scope, name="live")
    def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
        server = LiveServer(tmp_path_factory.mktemp(folder)).start()
        try:
            yield server
        finally:
            server.stop()

    @pytest.fixture(scope=scope, name="admin")
    def admin(live: LiveServer) -> Iterator[Admin]:
        a = Admin(live)
        try:
            yield a
        finally:
            a.close()

    @pytest.fixture(scope=scope, name="chromium")
    async def chromium() -> AsyncIterator[Any]:
        async with running_chromium() as browser:
            yield browser

    @pytest.fixture(name="browser_context")
    async def browser_context(chromium: Any) -> AsyncIterator[Any]:
        async with fresh_context(chromium) as context:
            yield context

    return live, admin, chromium, browser_context
