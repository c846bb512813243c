"""How often ``last_used_at`` is written: at most once a minute per client and per user grant, per process."""

from __future__ import annotations

USAGE_INTERVAL = 60.0  # seconds


class UsageMarks:
    """When this process last wrote ``last_used_at`` for a client or a user grant.

    ``last_used_at`` feeds the dashboard and DCR pruning (which counts idle *days*); writing it on every
    token request made one hot row per application that every concurrent refresh queued on (PostgreSQL
    row lock) and dirtied a random page of the million-row ``user_grants`` table per request. A minute
    of precision is plenty.
    """

    MAX_ENTRIES = 10_000  # keys remembered (~2.5 MB at most); beyond it the stale ones are dropped

    def __init__(self, interval: float = USAGE_INTERVAL) -> None:
        self.interval = interval
        self._written: dict[tuple[str, str], float] = {}

    def due(self, kind: str, key: str, now: float) -> bool:
        """True (and remembered as written) when ``key`` was not written by this process in the last interval."""
        last = self._written.get((kind, key))
        if last is not None and now - last < self.interval:
            return False
        if len(self._written) >= self.MAX_ENTRIES:
            self._written = {k: t for k, t in self._written.items() if now - t < self.interval}
            if len(self._written) >= self.MAX_ENTRIES:
                self._written.clear()
        self._written[(kind, key)] = now
        return True
