"""Background jobs (``jobs``, ``job_errors``): created, claimed through a lease, advanced batch by batch.

A worker claims a job with one conditional UPDATE (pending, or processing with an expired lease), so two
processes never run the same job, and a job left by a stopped process is taken over once its lease ends. Each
batch's writes and the job's new position (``processed``) commit in the same transaction: a resumed job
continues after the last committed batch, never writing a user twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert, or_, select, update

from consentry.storage.db import Database, Unit
from consentry.storage.models import Job, JobError

TABLE: Table = Job.__table__  # type: ignore[assignment]
ERRORS: Table = JobError.__table__  # type: ignore[assignment]
RUNNABLE = ("pending", "processing")


@dataclass(frozen=True, kw_only=True)
class StoredJob:
    id: str
    type: str
    status: str
    connection_id: str | None
    options: dict[str, Any]
    total: int
    processed: int
    inserted: int
    updated: int
    failed: int
    status_details: str | None
    lease_until: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None


_COLUMNS = [c for c in TABLE.c if c.name != "payload"]


def _job(mapping: Any) -> StoredJob:
    values = dict(mapping)
    values["options"] = dict(values["options"] or {})
    return StoredJob(**values)


async def create_in(unit: Unit, values: dict[str, Any]) -> None:
    await unit.execute(insert(TABLE).values(**values))


async def get(db: Database, job_id: str) -> StoredJob | None:
    async with db.connect() as conn:
        row = (await conn.execute(select(*_COLUMNS).where(TABLE.c.id == job_id))).first()
    return _job(row._mapping) if row is not None else None


async def payload(db: Database, job_id: str) -> str | None:
    async with db.connect() as conn:
        return (await conn.execute(select(TABLE.c.payload).where(TABLE.c.id == job_id))).scalar()


async def claim(db: Database, now: float, lease: float, job_id: str | None = None) -> StoredJob | None:
    """Take a runnable job whose lease is free (the oldest, or ``job_id``); None when there is none."""
    free = or_(TABLE.c.lease_until.is_(None), TABLE.c.lease_until < now)
    query = select(TABLE.c.id).where(TABLE.c.status.in_(RUNNABLE), free).order_by(TABLE.c.created_at).limit(1)
    if job_id is not None:
        query = query.where(TABLE.c.id == job_id)
    async with db.write() as conn:
        found = (await conn.execute(query)).scalar()
        if found is None:
            return None
        taken = await conn.execute(
            update(TABLE)
            .where(TABLE.c.id == found, TABLE.c.status.in_(RUNNABLE), free)
            .values(status="processing", lease_until=now + lease)
        )
        if not taken.rowcount:
            return None
        await conn.execute(
            update(TABLE).where(TABLE.c.id == found, TABLE.c.started_at.is_(None)).values(started_at=now)
        )
        row = (await conn.execute(select(*_COLUMNS).where(TABLE.c.id == found))).first()
    return _job(row._mapping) if row is not None else None


async def advance_in(unit: Unit, job_id: str, *, at: int, counts: dict[str, int], lease_until: float) -> bool:
    """Add one batch's counts (``processed``, ``inserted``, ``updated``, ``failed``) and renew the lease, if the
    job is still at position ``at`` (False: another worker took it over; the caller rolls the batch back)."""
    values: dict[str, Any] = {name: TABLE.c[name] + n for name, n in counts.items()}
    statement = (
        update(TABLE).where(TABLE.c.id == job_id, TABLE.c.processed == at).values(lease_until=lease_until, **values)
    )
    return bool((await unit.execute(statement)).rowcount)  # type: ignore[attr-defined]


async def add_errors_in(unit: Unit, job_id: str, errors: list[tuple[int, dict[str, Any], list[Any]]]) -> None:
    if errors:
        rows = [{"job_id": job_id, "position": p, "user": u, "errors": e} for p, u, e in errors]
        await unit.execute(insert(ERRORS), rows)


async def finish(
    db: Database,
    job_id: str,
    now: float,
    *,
    status: str,
    details: str | None = None,
    payload: str | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "finished_at": now, "lease_until": None, "status_details": details}
    if payload is not None:
        values["payload"] = payload
    async with db.write() as conn:
        await conn.execute(update(TABLE).where(TABLE.c.id == job_id).values(**values))


async def errors(db: Database, job_id: str) -> list[tuple[dict[str, Any], list[Any]]]:
    query = select(ERRORS.c.user, ERRORS.c.errors).where(ERRORS.c.job_id == job_id).order_by(ERRORS.c.position)
    async with db.connect() as conn:
        return [(dict(u or {}), list(e or [])) for u, e in (await conn.execute(query)).all()]
