"""Taking back part of what a user gave one app: one scope of a grant, or one device (refresh-token family).

Used by the connected-apps page (``/u/apps``) and the admin's view of the user. Removing scopes narrows the
grant: the next refresh mints only what it still covers (``oauth.mint_policy`` decides from the grant at every
mint); removing ``offline_access`` also ends every refresh-token family of the grant, and removing the last
scope revokes the grant. Revoking a device revokes only that family: the app's other devices keep working.
"""

from __future__ import annotations

from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import not_found
from consentry.services.user_grants import get_grant, revoke_grant
from consentry.storage import app_access as stored_access
from consentry.storage import refresh_tokens
from consentry.storage.db import OrmUnit, write_now
from consentry.storage.models import UserGrant

GRANT_NARROWED = "grant.narrowed"
REFRESH_FAMILY_REVOKED = "refresh_family.revoked"
OFFLINE = "offline_access"


async def _users_grant(s: OrmUnit, user_id: str, grant_id: str) -> UserGrant:
    row = await get_grant(s, grant_id)
    if row.user_id != user_id:
        raise not_found("grant", "inexistent_grant")  # someone else's grant is not revealed
    return row


async def revoke_scopes(
    rt: Runtime,
    s: OrmUnit,
    *,
    user_id: str,
    grant_id: str,
    scopes: list[str],
    actor: str | None,
    ip: str | None,
) -> list[str]:
    """Remove ``scopes`` from the user's grant (inside the caller's transaction); returns the scopes left
    (empty: the grant was revoked)."""
    row = await _users_grant(s, user_id, grant_id)
    current = list(row.scope or [])
    removed = [sc for sc in current if sc in set(scopes)]
    left = [sc for sc in current if sc not in set(removed)]
    if not removed:
        return current
    if not left or left == [OFFLINE]:
        await revoke_grant(rt, s, grant_id, actor=actor, ip=ip)
        return []
    now = rt.clock.now()
    revoked = await refresh_tokens.revoke_grant_families_in(s, now, grant_id) if OFFLINE in removed else 0
    row.scope, row.updated_at = left, now
    audit.record(
        s,
        now,
        GRANT_NARROWED,
        f"Grant for '{row.audience}' narrowed",
        client_id=row.client_id,
        user_id=user_id,
        ip=ip,
        details={
            "grant_id": grant_id,
            "removed": removed,
            "scope": left,
            "actor": actor,
            "refresh_tokens_revoked": revoked,
        },
    )
    await write_now(s)
    return left


async def revoke_device(
    rt: Runtime, s: OrmUnit, *, user_id: str, family_id: str, actor: str | None, ip: str | None
) -> int:
    """Revoke one refresh-token family of the user (404 when it is not theirs); returns the tokens revoked."""
    grant_id = await refresh_tokens.family_grant(s, family_id, user_id) if len(family_id) <= 64 else None
    if grant_id is None:
        raise not_found("device", "inexistent_device")
    row = await stored_access.user_grant(s, grant_id)
    now = rt.clock.now()
    revoked = await refresh_tokens.revoke_family_in(s, now, family_id)
    audit.record(
        s,
        now,
        REFRESH_FAMILY_REVOKED,
        "Refresh tokens of one device revoked",
        client_id=row.client_id if row is not None else None,
        user_id=user_id,
        ip=ip,
        details={"grant_id": grant_id, "family_id": family_id, "actor": actor, "refresh_tokens_revoked": revoked},
    )
    return revoked
