"""What every successful sign-in writes (password or enterprise connection), in ONE transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response

from consentry.login.sessions import create_session, revoke_in, set_cookie
from consentry.runtime import Runtime
from consentry.services import audit, rate_limit
from consentry.storage import interactions, logins
from consentry.storage.db import Unit
from consentry.storage.interactions import PendingRequest

Prepare = Callable[[Unit, float], Awaitable[None]]


async def complete_login(
    rt: Runtime,
    txn: PendingRequest,
    user_id: str,
    ip: str,
    old_token: str | None,
    *,
    limit_key: str | None = None,
    prepare: Prepare | None = None,
) -> str:
    """The previous session ends, a new one starts, the user's login count, the audit event, the transaction's
    answer and the failure counter's reset; ``prepare`` runs first in the same transaction (an enterprise sign-in
    creates or refreshes its user there). A failure anywhere leaves none of it. Returns the new cookie token."""
    now = rt.clock.now()
    async with rt.db.write() as conn:
        if prepare is not None:
            await prepare(conn, now)
        if old_token is not None:
            await revoke_in(conn, old_token, now)
        token, sid = await create_session(rt, conn, user_id, now)
        await logins.count_login_in(conn, user_id, now, ip)
        await audit.write(
            conn, now, audit.LOGIN_SUCCESS, "Successful login", client_id=txn.client_id or None, user_id=user_id, ip=ip
        )
        await interactions.update_in(conn, txn.id, user_id=user_id, session_id=sid, login_done_at=now)
        if limit_key is not None:
            await rate_limit.reset_in(conn, limit_key)
    return token


def signed_in(rt: Runtime, txn: PendingRequest, token: str) -> Response:
    """After any successful sign-in: back to the authorization request (or the page asked for), with the cookie."""
    target = (
        (rt.settings.url("authorize/resume") + "?" + urlencode({"state": txn.id}))
        if txn.client_id
        else (rt.settings.url((txn.next_path or "/u/apps").lstrip("/")))
    )
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    set_cookie(rt, response, token)
    return response
