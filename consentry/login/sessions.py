"""SSO login sessions: an opaque cookie whose digest names a server-side session row.

The cookie is ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` when the issuer is https. A new
session id is issued at every login, so a session fixed before login is never reused.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from consentry.runtime import Runtime
from consentry.storage.models import LoginSession, User
from consentry.tokens import ids

COOKIE = "consentry_session"


@dataclass(frozen=True)
class CurrentSession:
    sid: str
    user_id: str
    auth_time: float
    user: User


async def create_session(rt: Runtime, s: AsyncSession, user_id: str) -> tuple[str, LoginSession]:
    now = rt.clock.now()
    token = ids.secret(32)
    row = LoginSession(
        id=ids.secret(16),
        token_hash=ids.digest(token),
        user_id=user_id,
        auth_time=now,
        created_at=now,
        expires_at=now + rt.settings.session_lifetime,
    )
    s.add(row)
    return token, row


async def current_session(rt: Runtime, request: Request) -> CurrentSession | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 200:
        return None
    now = rt.clock.now()
    async with rt.db.read() as s:
        found = (
            await s.execute(
                select(LoginSession, User)
                .join(User, User.user_id == LoginSession.user_id)
                .where(LoginSession.token_hash == ids.digest(token))
            )
        ).first()
    if found is None:
        return None
    session, user = found
    if session.revoked_at is not None or session.expires_at <= now or user.blocked:
        return None
    return CurrentSession(session.id, user.user_id, session.auth_time, user)


async def end_session(rt: Runtime, request: Request) -> None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 200:
        return
    async with rt.db.transaction() as s:
        await s.execute(
            update(LoginSession)
            .where(LoginSession.token_hash == ids.digest(token), LoginSession.revoked_at.is_(None))
            .values(revoked_at=rt.clock.now())
        )


def set_cookie(rt: Runtime, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=rt.settings.session_lifetime,
        httponly=True,
        secure=rt.settings.secure_cookies,
        samesite="lax",
        path="/",
    )


def clear_cookie(rt: Runtime, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, secure=rt.settings.secure_cookies, samesite="lax")
