"""Who may see a page: the SSO session, the dashboard role, and the per-session CSRF token.

Pages are plain HTML forms, so every POST carries a hidden ``csrf`` field: an HMAC of the login
session's id under a key derived from the server's key-encryption key. It needs no storage, is
the same in every server process, and dies with the session (a new login gets a new session id).
The session cookie is also ``SameSite=Lax``, so a cross-site POST carries no session at all.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from starlette.requests import Request

from consentry.login.sessions import CurrentSession, current_session
from consentry.runtime import Runtime

CSRF_FIELD = "csrf"


class LoginRequired(Exception):
    """No live session: GET pages send the browser to the universal login, POSTs are refused."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(Exception):
    """Signed in, but not allowed here (not an admin, or a failed CSRF check)."""

    def __init__(self, message: str, *, needs_role: bool = False) -> None:
        super().__init__(message)
        self.message, self.needs_role = message, needs_role


class PageNotFound(Exception):
    """The thing a dashboard page is about does not exist (any more)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Viewer:
    """The signed-in person looking at a page, with the CSRF token their forms must carry."""

    rt: Runtime
    session: CurrentSession
    csrf: str

    @property
    def user_id(self) -> str:
        return self.session.user_id

    @property
    def label(self) -> str:
        user = self.session.user
        return user.email or user.username or user.user_id

    @property
    def is_admin(self) -> bool:
        return bool(self.session.user.is_admin)


def csrf_token(rt: Runtime, sid: str) -> str:
    key = hmac.new(rt.keys.kek, b"consentry/page-csrf/v1", hashlib.sha256).digest()
    return hmac.new(key, sid.encode(), hashlib.sha256).hexdigest()


def csrf_ok(viewer: Viewer, presented: object) -> bool:
    return isinstance(presented, str) and hmac.compare_digest(viewer.csrf.encode(), presented.encode())


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def viewer(request: Request, *, login_next: str) -> Viewer:
    """The signed-in user, or ``LoginRequired`` (which sends GETs to ``/u/login?next=…``)."""
    rt = _runtime(request)
    session = await current_session(rt, request)
    if session is None:
        raise LoginRequired(login_next)
    return Viewer(rt, session, csrf_token(rt, session.sid))


async def end_user(request: Request) -> Viewer:
    """FastAPI dependency for the connected-apps page: any signed-in user."""
    return await viewer(request, login_next="/u/apps")


async def admin(request: Request) -> Viewer:
    """FastAPI dependency for ``/admin``: a signed-in user with the dashboard role (``User.is_admin``)."""
    who = await viewer(request, login_next="/admin")
    if not who.is_admin:
        raise Forbidden(f"You are signed in as {who.label}, who is not a dashboard administrator.", needs_role=True)
    return who


async def check_csrf(request: Request, who: Viewer) -> dict[str, list[str]]:
    """The submitted form as lists of values, after the CSRF check (``Forbidden`` when it fails)."""
    form = await request.form()
    data: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            data.setdefault(key, []).append(value)
    presented = (data.get(CSRF_FIELD) or [""])[0]
    if not csrf_ok(who, presented):
        raise Forbidden("The form has expired or was tampered with (CSRF check failed). Reload the page and try again.")
    return data
