"""The SQL of the audit log (the ``audit_events`` table): events written in the transaction of the change they
describe, through the ORM session or a Core write transaction, and in batches for the token mints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, insert

from consentry.storage.db import OrmUnit, Unit
from consentry.storage.models import AuditEvent

_EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]
_INSERT_EVENTS = insert(_EVENTS)  # built once: the hot paths write through it


def add_event(s: OrmUnit, columns: dict[str, Any]) -> None:
    """One event in the session's unit of work (written with the session's other changes)."""
    s.add(AuditEvent(**columns))


async def insert_events(unit: Unit, events: dict[str, Any] | list[dict[str, Any]]) -> None:
    """One event, or a batch of them in one statement, inside the caller's transaction."""
    await unit.execute(_INSERT_EVENTS, events)
