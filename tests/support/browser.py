"""One way to start a browser in tests: Debian's Chromium under Playwright, headless, no downloads.

``playwright install`` is never run: the browser is the system ``chromium`` package. The flags turn
off everything that would reach the network on its own (QUIC, sync, component updates) and what a
container lacks (sandbox, GPU, a large /dev/shm). Works with the async and the sync Playwright API:
``await launch_chromium(p)`` or ``launch_chromium(p)``.
"""

from __future__ import annotations

import shutil
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
    return playwright.chromium.launch(executable_path=require_chromium(), headless=True, args=args,
                                      timeout=kwargs.pop("timeout", 30_000), **kwargs)  # fmt: skip
