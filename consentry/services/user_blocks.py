"""Auth0's user blocks over Consentry's login throttle: the (identifier, IP) pairs whose failed password logins
reached ``login_max_failures`` within ``login_failure_window``; unblocking forgets their failure counters.

By user id, the identifiers are the user's email and username (as typed at login: lowercased).
"""

from __future__ import annotations

from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.users import get_user
from consentry.storage import login_blocks
from consentry.storage.login_blocks import Block

USER_UNBLOCKED = "user.unblocked"
MAX_IDENTIFIER = 320


async def identifiers_of(rt: Runtime, user_id: str) -> list[str]:
    async with rt.db.read() as s:
        user = await get_user(s, user_id)
    return sorted({v.strip().lower() for v in (user.email, user.username) if v})


def normal(identifier: str) -> list[str]:
    value = identifier.strip().lower()[:MAX_IDENTIFIER]
    return [value] if value else []


async def blocks(rt: Runtime, identifiers: list[str]) -> list[Block]:
    s = rt.settings
    return await login_blocks.blocked(
        rt.db, identifiers, now=rt.clock.now(), window=s.login_failure_window, max_failures=s.login_max_failures
    )


async def unblock(rt: Runtime, identifiers: list[str], *, user_id: str | None = None) -> None:
    now = rt.clock.now()
    async with rt.db.write() as conn:
        lifted = await login_blocks.unblock_in(conn, identifiers)
        await audit.write(
            conn, now, USER_UNBLOCKED, f"Login blocks lifted ({lifted} counter(s))", user_id=user_id or None
        )
