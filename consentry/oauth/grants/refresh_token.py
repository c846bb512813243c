"""``refresh_token`` (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14).

Each use returns a new refresh token and retires the old one in one atomic update; presenting a
retired token again revokes the whole family. A refresh may narrow the scope or keep the resource,
never widen either. Public and third-party clients always rotate.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Row, update

from consentry.oauth.client_auth import require_grant_type
from consentry.oauth.errors import INVALID_GRANT, INVALID_REQUEST, INVALID_SCOPE, INVALID_TARGET
from consentry.oauth.grants.base import TokenContext, register
from consentry.oauth.grants.holder import (
    Redemption,
    consent_gone,
    holder_of,
    holder_query,
    usage_updates,
    write_usage,
)
from consentry.oauth.params import scope_list
from consentry.services import audit
from consentry.storage.models import RefreshToken
from consentry.tokens import ids
from consentry.tokens.issue import REFRESH_TOKENS as TOKENS
from consentry.tokens.issue import UserTokenRequest, mint_user_tokens

UNKNOWN = "Unknown or invalid refresh token."
READ = holder_query(TOKENS, TOKENS.c.token_hash)
ROTATE = Redemption(TOKENS, TOKENS.c.id, "rotated_at")


class RefreshTokenGrant:
    GRANT_TYPE: ClassVar[str] = "refresh_token"

    async def issue(self, ctx: TokenContext) -> dict[str, Any]:
        rt, client, params = ctx.rt, ctx.client, ctx.params
        require_grant_type(client, self.GRANT_TYPE)
        raw = params.get("refresh_token")
        if not raw:
            raise INVALID_REQUEST.with_hint("Missing required parameter: refresh_token")
        now = rt.clock.now()
        row = None
        if len(raw) <= 200:
            async with rt.db.connect() as conn:
                row = (await conn.execute(READ, {"key": ids.digest(raw)})).first()
        if row is None or row.client_id != client.client_id:
            raise INVALID_GRANT.with_hint(UNKNOWN)
        if row.revoked_at is not None or row.expires_at <= now:
            raise INVALID_GRANT.with_hint(UNKNOWN)
        rotate = client.is_public or client.is_third_party or client.refresh_rotation == "rotating"
        if row.rotated_at is not None and rotate:
            await _revoke_family(ctx, row)
            raise INVALID_GRANT.with_hint(UNKNOWN)
        user = holder_of(row)
        if user is None or user.blocked or consent_gone(row):
            raise INVALID_GRANT.with_hint(UNKNOWN)
        scopes = _narrowed(row.scope, params.get("scope"))
        target = params.get("resource") or params.get("audience")
        if target and target != row.audience:
            raise INVALID_TARGET.with_hint("A refresh cannot change the resource of the original grant.")
        api = await rt.catalog.api(row.audience) if row.audience else None
        req = UserTokenRequest(client, user, tuple(scopes), api, row.session_id, row.auth_time, None, row.grant_id)
        # Non-rotating (first-party, confidential) clients keep using the token they have.
        minted = await mint_user_tokens(rt, req, family_id=row.family_id, mint_refresh=rotate)
        usage = usage_updates(rt, client.client_id, row.grant_id, now)
        if rotate:
            if not await ROTATE(rt, row.id, now, minted.refresh_row, usage):
                raise INVALID_GRANT.with_hint(UNKNOWN)
        elif usage:
            async with rt.db.write() as conn:
                await write_usage(conn, usage)
        return minted.response


def _narrowed(original: list[str], requested: str | None) -> list[str]:
    if not requested:
        return list(original)
    wanted = scope_list(requested)
    extra = [s for s in wanted if s not in original]
    if extra:
        raise INVALID_SCOPE.with_hint("A refresh cannot widen the scope: " + " ".join(extra)[:200])
    return [s for s in original if s in wanted]


async def _revoke_family(ctx: TokenContext, row: Row[Any]) -> None:
    rt = ctx.rt
    async with rt.db.transaction() as s:
        await s.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=rt.clock.now())
        )
        audit.record(s, rt.clock.now(), audit.TOKEN_REUSE, "Refresh token reused; family revoked",
                     client_id=row.client_id, user_id=row.user_id, ip=ctx.ip)  # fmt: skip


register(RefreshTokenGrant())
