"""One way to start a browser in tests: Debian's Chromium under Playwright, headless, no downloads.

``playwright install`` is never run: the browser is the system ``chromium`` package. The flags turn
off everything that would reach the network on its own (QUIC, sync, component updates) and what a
container lacks (sandbox, GPU, a large /dev/shm). Works with the async and the sync Playwright API:
``await launch_chromium(p)`` or ``launch_chromium(p)``.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)
DEFAULT_TIMEOUT_MS = 15_000


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """The Chromium executable, or skip the test with the install command (scripts/system-deps.sh)."""
    path = chromium_path()
    if path is None:
        pytest.fail("Debian chromium is not installed (apt-get install -y chromium; make test installs it)")
    return path


def launch_chromium(playwright: Any, **kwargs: Any) -> Any:
    """``playwright.chromium.launch`` with the system Chromium and the flags above (a coroutine for async_api)."""
    args = [*CHROMIUM_ARGS, *kwargs.pop("args", ())]
    return playwright.chromium.launch(
        executable_path=require_chromium(), headless=True, args=args, timeout=kwargs.pop("timeout", 30_000), **kwargs
    )


@contextlib.asynccontextmanager
async def running_chromium() -> AsyncIterator[Any]:
    """An async Playwright with the system Chromium launched (the ``chromium`` fixtures of e2e and interop)."""
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def fresh_context(browser: Any) -> AsyncIterator[Any]:
    """A new profile (no cookies) with the default timeouts."""
    context = await browser.new_context()
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield context
    finally:
        await context.close()
