"""Telling a database that is away (a 503 worth retrying) from a bug (a 500), by the driver's own exception."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

DATABASE_ERRORS: tuple[type[Exception], ...] = (DBAPIError, PoolTimeout)  # what the driver and the pool raise

# SQLSTATE classes of a database that is away, restarting, failing over or out of resources (not of a bad
# statement): connection exception, operator intervention (shutdown, "cannot connect now"), insufficient
# resources (too many connections, disk full), read-only transaction (a demoted primary), serialization.
UNAVAILABLE_SQLSTATES = ("08", "57P", "53", "25006", "40001", "40P01")
UNAVAILABLE_TEXT = (
    "database is locked",
    "database or disk is full",
    "disk i/o error",
    "unable to open database",
    "connection is closed",
    "connection was closed",
    "could not connect",
    "shutting down",
    "starting up",
    "recovery mode",
)


def looks_unavailable(exc: BaseException) -> bool:
    """True when the database is unreachable, restarting or busy (a 503 worth retrying), not for a bug."""
    if isinstance(exc, PoolTimeout) or getattr(exc, "connection_invalidated", False):
        return True
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:  # the driver's own exception hides under SQLAlchemy's (.orig, __cause__)
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, OSError | TimeoutError):
            return True  # refused, reset, unreachable, timed out
        state = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
        if isinstance(state, str) and state.startswith(UNAVAILABLE_SQLSTATES):
            return True
        if isinstance(err, DBAPIError) or type(err).__module__.startswith(("asyncpg", "sqlite3")):
            if any(k in str(err).lower() for k in UNAVAILABLE_TEXT):
                return True
        todo += [getattr(err, "orig", None), err.__cause__, err.__context__]
    return False
