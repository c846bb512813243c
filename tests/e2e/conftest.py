"""Browser tests: the real ``consentry serve`` (tests/support/live_server.py) driven by Debian's Chromium.

One server per module with an admin created by the CLI (``consentry admin create-user``); one headless
Chromium per module (sync Playwright API, ``executable_path`` = the system ``chromium``, never a download).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.a11y import Watched
from tests.support.browser import launch_chromium, require_chromium
from tests.support.live_server import LiveProcess, live_server

ADMIN_EMAIL = "admin@example.com"
PASSWORD = "correct horse battery"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class Server:
    url: str
    process: LiveProcess

    def http(self) -> httpx.Client:
        """A plain HTTP client for the parts a browser does not do (the app's back channel)."""
        return httpx.Client(base_url=self.url, timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with live_server(tmp_path_factory.mktemp("e2e-server")) as (url, process):
        process.cli("admin", "create-user", "--email", ADMIN_EMAIL, "--password", PASSWORD)
        yield Server(url, process)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Module-scoped: the sync Playwright API runs its own event loop, which must be gone before any
    asyncio test of a later module starts."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_tab(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Watched]]:
    """``open_tab(prefix, viewport=LAPTOP)``: a page in a fresh profile (its own cookies), watched for errors."""
    contexts: list[Any] = []

    def make(prefix: str, viewport: dict[str, int] | None = None) -> Watched:
        context = chromium.new_context(viewport=viewport or LAPTOP)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return Watched(context.new_page(), prefix)

    yield make
    for context in contexts:
        context.close()


def sign_in(tab: Watched, server: Server, email: str, next_path: str, shot: str | None = None) -> None:
    """The universal login without an application, landing on ``next_path``."""
    page = tab.page
    page.goto(f"{server.url}u/login?next={next_path}")
    tab.check(shot)
    page.get_by_label("Email or username").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{server.url}{next_path.lstrip('/')}")
