"""Audit events of token mints, written in batches: one insert per quarter second instead of one per request.

A mint changes no state of its own (client_credentials writes nothing at all), so its event does not need the
mint's transaction; writing it inline would put a database write on the hottest paths (measured in
docs/performance.md). Events are flushed ``FLUSH_DELAY`` seconds after the first one of a batch, when the
process stops, and before this process answers ``GET /api/v2/logs``; a crash loses at most that last batch.
Refusals and revocations are not buffered: they are written in the transaction of the change (``audit.record``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from consentry.services.audit import event
from consentry.storage import audit_log

if TYPE_CHECKING:
    from consentry.storage.db import Database

FLUSH_DELAY = 0.25
MAX_PENDING = 100_000  # beyond it (the database is down), new events are counted as dropped, not kept
log = logging.getLogger("consentry")


class AuditBuffer:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: list[dict[str, Any]] = []
        self._flush: asyncio.Task[None] | None = None
        self.dropped = 0

    def add(self, now: float, type_: str, description: str, **fields: Any) -> None:
        """Queue one event (``audit.record``'s arguments); it is written within ``FLUSH_DELAY`` seconds."""
        if len(self._pending) >= MAX_PENDING:
            self.dropped += 1
            return
        self._pending.append(event(now, type_, description, **fields))
        if self._flush is None:
            self._flush = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_DELAY)
        self._flush = None
        await self.flush()

    async def flush(self) -> None:
        """Write everything queued so far, in one transaction."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            async with self.db.write() as conn:
                await audit_log.insert_events(conn, batch)
        except Exception as exc:  # noqa: BLE001 - an audit write must never fail a request; it is logged
            self.dropped += len(batch)
            log.warning("could not write %d audit events: %s", len(batch), type(exc).__name__)
