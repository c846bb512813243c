"""Injected time, so expiry and rotation tests move a clock instead of sleeping."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    def now(self) -> float:
        return time.time()


class FrozenClock(Clock):
    def __init__(self, start: float | None = None) -> None:
        self.current = time.time() if start is None else start

    def now(self) -> float:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += seconds


def iso(ts: float | None) -> str | None:
    """Epoch seconds as Auth0's ISO 8601 form with milliseconds and ``Z``."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"
