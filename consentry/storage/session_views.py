"""A user's SSO sessions as the Management API lists and ends them (``login_sessions``), with the applications
each session signed in to (from its refresh tokens and authorization codes).

Keyset paging on the session id: ``after`` is exclusive, one extra row says whether a next page exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, union, update

from consentry.storage.db import Database, Unit
from consentry.storage.models import AuthorizationCode, LoginSession, RefreshToken


@dataclass(frozen=True, kw_only=True)
class SessionView:
    id: str
    user_id: str
    auth_time: float
    created_at: float
    expires_at: float
    last_used_at: float | None
    client_ids: tuple[str, ...]


def _live(now: float) -> tuple[object, ...]:
    return (LoginSession.revoked_at.is_(None), LoginSession.expires_at > now)


async def _clients(conn: Unit, session_ids: list[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {sid: set() for sid in session_ids}
    if not session_ids:
        return found
    pairs = union(
        select(RefreshToken.session_id, RefreshToken.client_id).where(RefreshToken.session_id.in_(session_ids)),
        select(AuthorizationCode.session_id, AuthorizationCode.client_id).where(
            AuthorizationCode.session_id.in_(session_ids)
        ),
    )
    for sid, client_id in (await conn.execute(pairs)).all():
        found[str(sid)].add(str(client_id))
    return found


def _view(row: LoginSession, clients: dict[str, set[str]]) -> SessionView:
    return SessionView(
        id=row.id,
        user_id=row.user_id,
        auth_time=row.auth_time,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        client_ids=tuple(sorted(clients.get(row.id, ()))),
    )


async def list_live(
    db: Database, user_id: str, now: float, *, after: str | None, limit: int
) -> tuple[list[SessionView], str | None]:
    """One page of the user's live sessions and the ``next`` cursor (None on the last page)."""
    query = select(LoginSession).where(LoginSession.user_id == user_id, *_live(now))  # type: ignore[arg-type]
    if after:
        query = query.where(LoginSession.id > after)
    async with db.read() as s:
        rows = list((await s.scalars(query.order_by(LoginSession.id).limit(limit + 1))).all())
        more = len(rows) > limit
        rows = rows[:limit]
        clients = await _clients(s, [r.id for r in rows])
    return [_view(r, clients) for r in rows], (rows[-1].id if more and rows else None)


async def get_live(db: Database, session_id: str, now: float) -> SessionView | None:
    query = select(LoginSession).where(LoginSession.id == session_id, *_live(now))  # type: ignore[arg-type]
    async with db.read() as s:
        row = await s.scalar(query)
        return _view(row, await _clients(s, [row.id])) if row is not None else None


async def end_in(unit: Unit, now: float, *, session_id: str | None = None, user_id: str | None = None) -> int:
    """End one live session, or every live session of a user; returns how many ended."""
    where = LoginSession.id == session_id if session_id is not None else LoginSession.user_id == user_id
    statement = update(LoginSession).where(where, LoginSession.revoked_at.is_(None)).values(revoked_at=now)
    return int((await unit.execute(statement)).rowcount or 0)  # type: ignore[attr-defined]
