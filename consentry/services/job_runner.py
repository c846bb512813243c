"""Running users import and export jobs in the background, durably.

``kick`` starts draining the queue in this process right after a job is created; ``start_periodic`` (the app's
lifespan) also looks for runnable jobs every ``POLL_SECONDS``, which is how a job left behind by a stopped
process is resumed once its lease has expired (``storage.jobs``). An import writes ``BATCH`` users per
transaction together with its new position, so progress survives a restart and no user is written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
from collections.abc import Callable
from typing import Any

import orjson

from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.background import log_failure
from consentry.services.jobs import EXPORT, IMPORT
from consentry.services.user_import_format import ImportedUser, parse_user
from consentry.services.users import connection_names, list_users, user_json
from consentry.storage import jobs, user_import
from consentry.storage.db import Unit
from consentry.storage.jobs import StoredJob
from consentry.tokens import ids

BATCH = 500
LEASE = 120.0
POLL_SECONDS = 15.0
USERS_IMPORTED = "users.imported"
Progress = Callable[[int, int], None]
log = logging.getLogger("consentry.jobs")
_draining: dict[int, asyncio.Task[None]] = {}


class LeaseLost(Exception):
    """Another worker took the job over (this one's lease expired): the batch is rolled back."""


def kick(rt: Runtime) -> None:
    """Drain the queue in the background of this process (one drainer per runtime)."""
    task = _draining.get(id(rt))
    if task is None or task.done():
        _draining[id(rt)] = asyncio.create_task(drain(rt), name="consentry-jobs")


async def settle(rt: Runtime) -> None:
    """Wait until this process's drainer is idle (the CLI and tests)."""
    task = _draining.get(id(rt))
    if task is not None:
        await task


async def drain(rt: Runtime, on_progress: Progress | None = None, job_id: str | None = None) -> None:
    """Run every runnable job (or just ``job_id``) until none is left."""
    while (job := await jobs.claim(rt.db, rt.clock.now(), LEASE, job_id)) is not None:
        try:
            await run(rt, job, on_progress)
        except LeaseLost:
            log.warning("job %s was taken over by another worker", job.id)
        except Exception as exc:  # a bug or a lost database: the job fails visibly rather than staying leased
            log_failure(log, f"job {job.id} failed", exc)
            await jobs.finish(rt.db, job.id, rt.clock.now(), status="failed", details="The job failed unexpectedly.")
        if job_id is not None:
            return


async def run(rt: Runtime, job: StoredJob, on_progress: Progress | None = None) -> None:
    if job.type == IMPORT:
        await _run_import(rt, job, on_progress)
    elif job.type == EXPORT:
        await _run_export(rt, job, on_progress)
    else:
        await jobs.finish(rt.db, job.id, rt.clock.now(), status="failed", details=f"Unknown job type {job.type}.")


# --- users import --------------------------------------------------------------------------------------------


async def _run_import(rt: Runtime, job: StoredJob, on_progress: Progress | None) -> None:
    users = orjson.loads(await jobs.payload(rt.db, job.id) or "[]")
    position, total = job.processed, len(users)
    while position < total:
        batch = users[position : position + BATCH]
        async with rt.db.write() as conn:
            counts, errors = await _write_batch(rt, conn, job, batch, position)
            await jobs.add_errors_in(conn, job.id, errors)
            moved = await jobs.advance_in(conn, job.id, at=position, counts=counts, lease_until=rt.clock.now() + LEASE)
            if not moved:
                raise LeaseLost(job.id)
        position += len(batch)
        if on_progress is not None:
            on_progress(position, total)
    done = await jobs.get(rt.db, job.id)
    summary = {k: getattr(done, k) for k in ("inserted", "updated", "failed", "total")} if done else {}
    async with rt.db.write() as conn:
        await audit.write(conn, rt.clock.now(), USERS_IMPORTED, "Users imported", details={"job": job.id, **summary})
    await jobs.finish(rt.db, job.id, rt.clock.now(), status="completed")


def _keys(u: ImportedUser) -> list[str]:
    keys = [f"email:{u.email}"] if u.email else []
    keys += [f"username:{u.username}"] if u.username else []
    return keys + ([f"id:auth0|{u.user_id}"] if u.user_id else [])


def _row(u: ImportedUser, user_id: str, connection_id: str, now: float) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "connection_id": connection_id,
        "email": u.email,
        "username": u.username,
        "password_hash": u.password_hash,
        "email_verified": u.email_verified,
        "blocked": u.blocked,
        "is_admin": False,
        "profile": u.profile,
        "app_metadata": u.app_metadata,
        "user_metadata": u.user_metadata,
        "logins_count": 0,
        "created_at": now,
        "updated_at": now,
    }


async def _write_batch(
    rt: Runtime, conn: Unit, job: StoredJob, batch: list[Any], start: int
) -> tuple[dict[str, int], list[tuple[int, dict[str, Any], list[Any]]]]:
    """Insert, update (``upsert``) or refuse each user of one batch; returns the counts and the errors."""
    assert job.connection_id is not None
    now, upsert = rt.clock.now(), bool(job.options.get("upsert"))
    parsed = [(start + i, raw, parse_user(raw)) for i, raw in enumerate(batch)]
    errors = [(p, raw if isinstance(raw, dict) else {}, e) for p, raw, e in parsed if isinstance(e, list)]
    good = [(p, raw, u) for p, raw, u in parsed if isinstance(u, ImportedUser)]
    found = await user_import.existing(
        conn,
        job.connection_id,
        emails=[u.email for _, _, u in good if u.email],
        usernames=[u.username for _, _, u in good if u.username],
        user_ids=[f"auth0|{u.user_id}" for _, _, u in good if u.user_id],
    )
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for position, raw, u in good:
        matched = {found[k] for k in _keys(u) if k in found}
        if len(matched) > 1 or (matched and not upsert):
            errors.append((position, raw, [{"code": "DUPLICATED_USER", "message": "The user already exists."}]))
            continue
        user_id = matched.pop() if matched else f"auth0|{u.user_id or ids.hex_id(16)}"
        (updates if user_id in found.values() else inserts).append(_row(u, user_id, job.connection_id, now))
        found.update({k: user_id for k in _keys(u)})  # a later duplicate in the same file is caught too
    await user_import.insert_in(conn, inserts)
    await user_import.update_in(conn, updates)
    counts = {"processed": len(batch), "inserted": len(inserts), "updated": len(updates), "failed": len(errors)}
    return counts, errors


# --- users export --------------------------------------------------------------------------------------------


def _value(user: dict[str, Any], name: str) -> Any:
    if name == "identities[0].connection":
        return (user.get("identities") or [{}])[0].get("connection")
    value: Any = user
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else orjson.dumps(value).decode()


async def _run_export(rt: Runtime, job: StoredJob, on_progress: Progress | None) -> None:
    fields = [(f["name"], f.get("export_as") or f["name"]) for f in job.options.get("fields", [])]
    limit = int(job.options.get("limit") or 1_000_000)
    lines: list[dict[str, Any]] = []
    offset = 0
    async with rt.db.read() as s:
        names = await connection_names(s)
        while len(lines) < limit:
            rows, total = await list_users(s, offset=offset, limit=1000)
            offset += len(rows)
            for row in rows:
                if len(lines) < limit and job.connection_id in (None, row.connection_id):
                    user = user_json(row, names.get(row.connection_id, ""))
                    lines.append({alias: _value(user, name) for name, alias in fields})
            if on_progress is not None:
                on_progress(len(lines), min(total, limit))
            if len(rows) < 1000:
                break
    if job.options.get("format") == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([alias for _, alias in fields])
        writer.writerows([[_cell(line[alias]) for _, alias in fields] for line in lines])
        text = out.getvalue()
    else:
        text = "".join(orjson.dumps({k: v for k, v in line.items() if v is not None}).decode() + "\n" for line in lines)
    async with rt.db.write() as conn:
        await jobs.advance_in(
            conn, job.id, at=job.processed, counts={"processed": len(lines)}, lease_until=rt.clock.now() + LEASE
        )
    await jobs.finish(rt.db, job.id, rt.clock.now(), status="completed", payload=text)


def start_periodic(rt: Runtime) -> asyncio.Task[None]:
    return asyncio.create_task(_loop(rt), name="consentry-jobs-poll")


async def _loop(rt: Runtime) -> None:
    while True:
        with contextlib.suppress(Exception):
            await drain(rt)
        await asyncio.sleep(POLL_SECONDS)


async def stop_periodic(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    for drainer in list(_draining.values()):
        drainer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drainer
