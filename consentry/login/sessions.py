"""SSO login sessions: an opaque cookie whose digest names a server-side session row.

The cookie is ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` when the issuer is https. A new
session id is issued at every login, so a session fixed before login is never reused.

Lifetimes are the tenant's, as Auth0 defines them: ``session_lifetime`` (absolute, hours, or
``session_lifetime_in_minutes``) and ``idle_session_lifetime`` (without use), each bounded by the server's
``CONSENTRY_SESSION_LIFETIME``. Use is recorded at most once a minute (``TOUCH_EVERY``, or a tenth of a
shorter idle lifetime), so the idle deadline costs one write per session per minute at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.user_grants import GrantRef, expired
from consentry.storage import login_sessions
from consentry.storage.db import Unit
from consentry.storage.user_records import UserRecord
from consentry.tokens import ids

COOKIE = "consentry_session"
TOUCH_EVERY = 60.0


@dataclass(frozen=True)
class CurrentSession:
    sid: str
    user_id: str
    auth_time: float
    user: UserRecord
    grant: GrantRef | None = None  # the user's grant asked for with ``grant_for`` (None: none stored, or not asked)


def cookie_token(request: Request) -> str | None:
    token = request.cookies.get(COOKIE)
    return token if token and len(token) <= 200 else None


MAX_UNITS = 10**9  # far beyond any server bound; keeps float() of a stored number finite


def _hours_or_minutes(tenant: dict[str, Any], name: str) -> float | None:
    """Seconds from ``{name}_in_minutes``, else from ``name`` (hours); None when neither is a positive number."""
    for key, seconds in ((f"{name}_in_minutes", 60), (name, 3600)):
        value = tenant.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(min(value, MAX_UNITS)) * seconds  # a legacy 400-digit integer is no OverflowError
    return None


def lifetimes(rt: Runtime, tenant: dict[str, Any]) -> tuple[float, float | None]:
    """(absolute, idle) session lifetimes in seconds: the tenant's, bounded by the server's."""
    bound = float(rt.settings.session_lifetime)
    absolute = min(_hours_or_minutes(tenant, "session_lifetime") or bound, bound)
    idle = _hours_or_minutes(tenant, "idle_session_lifetime")
    return absolute, (min(idle, absolute) if idle else None)


async def create_session(rt: Runtime, unit: Unit, user_id: str, now: float) -> tuple[str, str]:
    """A new session row in the caller's write transaction; returns (cookie token, session id)."""
    token, sid = ids.secret(32), ids.secret(16)
    absolute, _ = lifetimes(rt, await rt.catalog.tenant())
    await login_sessions.insert_in(
        unit, sid=sid, token_hash=ids.digest(token), user_id=user_id, now=now, expires_at=now + absolute
    )
    return token, sid


async def current_session(
    rt: Runtime, request: Request, grant_for: tuple[str, str] | None = None
) -> CurrentSession | None:
    """The live session named by the cookie; with ``grant_for=(client_id, audience)`` also the user's grant."""
    token = cookie_token(request)
    if token is None:
        return None
    now = rt.clock.now()
    row = await login_sessions.find(rt.db, ids.digest(token), grant_for)
    if row is None or row.revoked_at is not None or row.expires_at <= now or row.user.blocked:
        return None
    _, idle = lifetimes(rt, await rt.catalog.tenant())
    last_used = row.last_used_at or row.created_at
    if idle is not None and now - last_used >= idle:
        return None
    if now - last_used >= min(TOUCH_EVERY, idle / 10 if idle else TOUCH_EVERY):
        await login_sessions.touch(rt.db, row.id, now)
    live = row.grant_id is not None and not expired(row.grant_expires_at, now)  # an expired grant counts as none
    grant = GrantRef(row.grant_id, list(row.grant_scope or [])) if live and row.grant_id is not None else None
    return CurrentSession(row.id, row.user.user_id, row.auth_time, row.user, grant)


async def revoke_in(unit: Unit, token: str, now: float) -> None:
    """Revoke the session named by a cookie token, inside the caller's write transaction."""
    await login_sessions.revoke_in(unit, ids.digest(token), now)


async def end_session(rt: Runtime, request: Request, *, client_id: str | None = None, ip: str | None = None) -> None:
    """Revoke the cookie's session; a live one ending is audited (Auth0's ``slo``) in the same transaction."""
    token = cookie_token(request)
    if token is None:
        return
    now = rt.clock.now()
    async with rt.db.write() as conn:
        user_id = await login_sessions.end_in(conn, ids.digest(token), now)
        if user_id is not None:
            await audit.write(conn, now, audit.LOGOUT, "Successful logout", client_id=client_id, user_id=user_id, ip=ip)


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
