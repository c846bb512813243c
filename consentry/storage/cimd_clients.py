"""The client rows an administrator registers from a Client ID Metadata Document (``client_id`` = the document's
URL): read, added and sent in the caller's session.

Two administrators registering one URL at once race on the client's primary key; the loser's transaction is
refused and ``lost_race`` recognises that, so the service retries it as a refresh of the winner's row.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from consentry.storage.db import OrmUnit
from consentry.storage.models import Client


async def client(s: OrmUnit, url: str) -> Client | None:
    """The client stored under ``url``, whatever registered it, in the caller's session."""
    return await s.get(Client, url)


def add(s: OrmUnit, row: Client) -> None:
    s.add(row)


def lost_race(exc: BaseException) -> bool:
    """True when the database refused the registration's transaction on a constraint: another request wrote
    the same client first (callers catch ``Exception`` and re-raise anything else)."""
    return isinstance(exc, IntegrityError)
