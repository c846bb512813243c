"""Which database errors are a 503 ``temporarily_unavailable`` (retry later) and which are a 500 (a bug).

The errors are the ones the fault tests met (PostgreSQL stopped, restarting, shut down mid-statement; SQLite
locked or full), as SQLAlchemy and the drivers raise them, and errors that must stay 500s.
"""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from consentry.storage.unavailable import looks_unavailable


def _wrapped(orig: BaseException, cls: type[DBAPIError] = DBAPIError) -> DBAPIError:
    try:
        raise cls("SELECT 1", None, orig) from orig
    except DBAPIError as exc:
        return exc


UNAVAILABLE = {
    "pg refused (raw, as SQLAlchemy re-raises it)": ConnectionRefusedError(111, "Connection refused"),
    "pg reset": ConnectionResetError(104, "Connection reset by peer"),
    "pg shutting down": _wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")),
    "pg admin shutdown": _wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection")),
    "pg connection gone": _wrapped(
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    ),
    "pg too many connections": _wrapped(asyncpg.exceptions.TooManyConnectionsError("too many clients")),
    "pg read-only (demoted primary)": _wrapped(asyncpg.exceptions.ReadOnlySQLTransactionError("read-only")),
    "pool exhausted": PoolTimeout("QueuePool limit of size 10 overflow 10 reached"),
    "timeout": TimeoutError(),
    "sqlite locked": _wrapped(sqlite3.OperationalError("database is locked"), OperationalError),
    "sqlite full": _wrapped(sqlite3.OperationalError("database or disk is full"), OperationalError),
    "sqlite io": _wrapped(sqlite3.OperationalError("disk I/O error"), OperationalError),
}
BUGS = {
    "unique violation": _wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key"), IntegrityError),
    "sqlite constraint": _wrapped(sqlite3.IntegrityError("UNIQUE constraint failed: connections.name"), IntegrityError),
    "syntax": _wrapped(asyncpg.exceptions.PostgresSyntaxError("syntax error"), ProgrammingError),
    "another operation in progress": _wrapped(
        asyncpg.exceptions.InterfaceError("cannot perform operation: another operation is in progress")
    ),
    "a plain bug": ValueError("connection"),
}


@pytest.mark.parametrize("name", list(UNAVAILABLE))
def test_unavailable_database_is_a_503(name: str) -> None:
    assert looks_unavailable(UNAVAILABLE[name])


@pytest.mark.parametrize("name", list(BUGS))
def test_other_errors_stay_500s(name: str) -> None:
    assert not looks_unavailable(BUGS[name])
