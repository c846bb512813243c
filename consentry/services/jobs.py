"""Users import and export jobs: created here, run in the background by ``services.job_runner``.

An import takes Auth0's JSON user file (an array of users, ``services.user_import_format``) for one database
connection; an export writes the connection's users (or every user) as newline-delimited JSON or CSV with the
fields asked for, served gzip-compressed from a link that carries its own random token.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from consentry.runtime import Runtime
from consentry.services.errors import invalid, not_found
from consentry.storage import jobs
from consentry.storage.jobs import StoredJob
from consentry.tokens import ids

IMPORT, EXPORT = "users_import", "users_export"
MAX_USERS = 500_000
MAX_EXPORT = 1_000_000
DEFAULT_FIELDS = (
    "user_id",
    "email",
    "email_verified",
    "username",
    "name",
    "nickname",
    "given_name",
    "family_name",
    "picture",
    "blocked",
    "created_at",
    "updated_at",
    "last_login",
    "logins_count",
)


@dataclass(frozen=True)
class ExportField:
    name: str  # a field of the Management API user, or a dotted path into it (``app_metadata.plan``)
    export_as: str


async def _database_connection(rt: Runtime, connection_id: str) -> str:
    found = [c for c in await rt.catalog.connections() if c.id == connection_id]
    if not found:
        raise invalid(f"The connection does not exist: {connection_id[:64]}.", "inexistent_connection")
    if found[0].strategy != "auth0":
        raise invalid("Users can be imported only into database connections (strategy auth0).")
    return found[0].id


async def create_import(
    rt: Runtime, *, connection_id: str, users_file: bytes, upsert: bool, external_id: str | None
) -> StoredJob:
    """Check the file is a JSON array of at most ``MAX_USERS`` entries and queue the job (users are checked one
    by one when it runs; their errors are the job's errors)."""
    conn_id = await _database_connection(rt, connection_id)
    try:
        users = orjson.loads(users_file)
    except orjson.JSONDecodeError:
        raise invalid("The users file must be JSON (an array of users).", "invalid_users_file") from None
    if not isinstance(users, list) or not users:
        raise invalid("The users file must be a non-empty JSON array of users.", "invalid_users_file")
    if len(users) > MAX_USERS:
        raise invalid(f"The users file holds more than {MAX_USERS} users.", "invalid_users_file")
    options = {"upsert": upsert, **({"external_id": external_id} if external_id else {})}
    return await _create(rt, IMPORT, conn_id, options, payload=users_file.decode("utf-8"), total=len(users))


async def create_export(
    rt: Runtime,
    *,
    connection_id: str | None,
    file_format: Literal["json", "csv"],
    fields: list[ExportField] | None,
    limit: int | None,
) -> StoredJob:
    conn_id = await _database_connection(rt, connection_id) if connection_id else None
    chosen = fields or [ExportField(f, f) for f in DEFAULT_FIELDS]
    options = {
        "format": file_format,
        "fields": [{"name": f.name, "export_as": f.export_as} for f in chosen],
        **({"limit": limit} if limit is not None else {}),
    }
    return await _create(rt, EXPORT, conn_id, options, payload=None, total=0)


async def _create(
    rt: Runtime, job_type: str, connection_id: str | None, options: dict[str, Any], *, payload: str | None, total: int
) -> StoredJob:
    job_id = ids.prefixed("job")
    values: dict[str, Any] = {
        "id": job_id,
        "type": job_type,
        "status": "pending",
        "connection_id": connection_id,
        "options": options,
        "payload": payload,
        "total": total,
        "processed": 0,
        "inserted": 0,
        "updated": 0,
        "failed": 0,
        "created_at": rt.clock.now(),
    }
    async with rt.db.write() as conn:
        await jobs.create_in(conn, values)
    return await get_job(rt, job_id)


async def get_job(rt: Runtime, job_id: str) -> StoredJob:
    found = await jobs.get(rt.db, job_id) if len(job_id) <= 64 else None
    if found is None:
        raise not_found("job", "inexistent_job")
    return found


async def job_errors(rt: Runtime, job_id: str) -> list[tuple[dict[str, Any], list[Any]]]:
    await get_job(rt, job_id)
    return await jobs.errors(rt.db, job_id)


def download_token(rt: Runtime, job_id: str) -> str:
    """An export's download token: an HMAC of its id under the key-encryption key, so every process can show
    and check the link and nothing secret is stored."""
    return hmac.new(rt.keys.kek, f"users-export:{job_id}".encode(), hashlib.sha256).hexdigest()


async def export_file(rt: Runtime, job_id: str, token: str) -> tuple[StoredJob, str]:
    """The finished export's file when ``token`` is its download token (constant-time check); else 404."""
    found = await jobs.get(rt.db, job_id) if len(job_id) <= 64 else None
    valid = found is not None and hmac.compare_digest(token.encode(), download_token(rt, job_id).encode())
    if found is None or not valid or found.type != EXPORT or found.status != "completed":
        raise not_found("export", "inexistent_job")
    return found, await jobs.payload(rt.db, job_id) or ""
