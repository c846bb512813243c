"""A user's SSO sessions and refresh tokens, listed and ended by the Management API.

Ending a session signs the user out of it (the next ``/authorize`` asks for a login); it does not revoke the
refresh tokens issued under it, as in Auth0. Deleting a refresh token revokes its whole rotation family, which also
ends every access token minted from that family (``tokens.liveness`` checks the ``family_id`` claim).
"""

from __future__ import annotations

from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import not_found
from consentry.services.users import get_user
from consentry.storage import refresh_token_views, refresh_tokens, session_views
from consentry.storage.refresh_token_views import FamilyView
from consentry.storage.session_views import SessionView

SESSIONS_ENDED = "user.sessions_ended"
REFRESH_TOKENS_REVOKED = "user.refresh_tokens_revoked"
MAX_ID = 64


async def _user(rt: Runtime, user_id: str) -> None:
    async with rt.db.read() as s:
        await get_user(s, user_id)


async def list_sessions(
    rt: Runtime, user_id: str, *, after: str | None, limit: int
) -> tuple[list[SessionView], str | None]:
    await _user(rt, user_id)
    return await session_views.list_live(rt.db, user_id, rt.clock.now(), after=after, limit=limit)


async def get_session(rt: Runtime, session_id: str) -> SessionView:
    found = await session_views.get_live(rt.db, session_id, rt.clock.now()) if len(session_id) <= MAX_ID else None
    if found is None:
        raise not_found("session", "inexistent_session")
    return found


async def end_sessions(rt: Runtime, *, user_id: str | None = None, session_id: str | None = None) -> None:
    """End every live session of a user, or one session (404 when it is not live)."""
    if user_id is not None:
        await _user(rt, user_id)
    else:
        assert session_id is not None
        user_id = (await get_session(rt, session_id)).user_id
    now = rt.clock.now()
    async with rt.db.write() as conn:
        ended = await session_views.end_in(conn, now, session_id=session_id, user_id=None if session_id else user_id)
        await audit.write(
            conn, now, SESSIONS_ENDED, f"{ended} session(s) ended", user_id=user_id, details={"session_id": session_id}
        )


async def list_refresh_tokens(
    rt: Runtime, user_id: str, *, after: str | None, limit: int
) -> tuple[list[FamilyView], str | None]:
    await _user(rt, user_id)
    return await refresh_token_views.list_live(rt.db, user_id, rt.clock.now(), after=after, limit=limit)


async def get_refresh_token(rt: Runtime, family_id: str) -> FamilyView:
    found = await refresh_token_views.get_live(rt.db, family_id, rt.clock.now()) if len(family_id) <= MAX_ID else None
    if found is None:
        raise not_found("refresh token", "inexistent_refresh_token")
    return found


async def revoke_refresh_tokens(rt: Runtime, *, user_id: str | None = None, family_id: str | None = None) -> None:
    """Revoke every refresh token of a user, or one family (404 when it is not live)."""
    if user_id is not None:
        await _user(rt, user_id)
    else:
        assert family_id is not None
        user_id = (await get_refresh_token(rt, family_id)).user_id
    now = rt.clock.now()
    async with rt.db.write() as conn:
        if family_id is not None:
            revoked = await refresh_tokens.revoke_family_in(conn, now, family_id)
        else:
            revoked = await refresh_tokens.revoke_user_families_in(conn, now, user_id)
        await audit.write(
            conn,
            now,
            REFRESH_TOKENS_REVOKED,
            f"{revoked} refresh token(s) revoked",
            user_id=user_id,
            details={"family_id": family_id},
        )
