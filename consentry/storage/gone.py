"""Writes that point at a row another request is deleting: the foreign key's refusal is not a server error.

A request reads its client or user, works (a password hash, a signature), then inserts a row that refers to it
(a code, a session, a refresh token, a pending login). When a Management API delete commits in between, the
database refuses the insert. The request then came after the delete, and answers as it would had it read after it
(the callers decide how, from current data). ``missing_parent`` recognises exactly that refusal, on both databases.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from consentry.storage.db import Database
from consentry.storage.dcr_models import PendingRegistration
from consentry.storage.models import Client

FOREIGN_KEY_VIOLATION = "23503"  # PostgreSQL SQLSTATE
SQLITE_FOREIGN_KEY = "foreign key constraint failed"


class ParentGone(Exception):
    """A write refused by the storage layer itself because the row it names no longer exists (where no foreign
    key can say so: a pending request names a stored client or a pending registration)."""


def missing_parent(exc: BaseException) -> bool:
    """True for the database's refusal of a write because a row it refers to no longer exists (callers catch
    ``Exception`` and re-raise anything else, so they need no database types)."""
    if isinstance(exc, ParentGone):
        return True
    if not isinstance(exc, IntegrityError):
        return False
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state == FOREIGN_KEY_VIOLATION or SQLITE_FOREIGN_KEY in str(orig).lower()


async def client_exists(db: Database, client_id: str) -> bool:
    """Whether the client exists now, stored or as a pending DCR registration (read from the database, never
    from a cache)."""
    stored = exists().where(Client.client_id == client_id)
    pending = exists().where(PendingRegistration.client_id == client_id)
    async with db.connect() as conn:
        return bool(await conn.scalar(select(stored | pending)))


def duplicate_key(exc: BaseException) -> bool:
    """True for the database's refusal of an insert whose key another transaction committed first."""
    return isinstance(exc, IntegrityError) and not missing_parent(exc)
