"""``authorization_code`` (RFC 6749 §4.1.3) with PKCE (RFC 7636, S256) and RFC 8707 ``resource``.

Codes are single-use: consuming the code and writing its refresh token happen in one transaction,
so a code is either unused or consumed with its tokens. A replayed code revokes every refresh token
issued from it (RFC 6749 §4.1.2, RFC 9700 §4.5).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any, ClassVar, NoReturn

from consentry.oauth.errors import INVALID_GRANT, INVALID_REQUEST, INVALID_TARGET
from consentry.oauth.grants.base import TokenContext, register
from consentry.oauth.grants.presented import (
    consent_gone,
    grant_expires_at,
    holder_of,
    mint_details,
    mint_input,
    presented_row,
    usage_updates,
)
from consentry.oauth.mint_policy import decide
from consentry.services import audit, webhooks
from consentry.services.webhook_rules import REFRESH_FAMILY_REVOKED
from consentry.storage import redemptions, refresh_tokens
from consentry.storage.redemptions import CODES_REDEEMED, HeldRow
from consentry.tokens.issue import UserTokenRequest, mint_user_tokens

VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def check_pkce(challenge: str | None, verifier: str | None) -> None:
    if challenge is None:
        if verifier is not None:  # RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt
            raise INVALID_GRANT.with_hint("code_verifier was sent but the authorization request had no code_challenge.")
        return
    if verifier is None:
        raise INVALID_REQUEST.with_hint("Missing required parameter: code_verifier")
    if not VERIFIER.match(verifier) or not hmac.compare_digest(s256(verifier), challenge):  # RFC 7636 §4.6
        raise INVALID_GRANT.with_hint("Failed to verify code verifier")


class AuthorizationCodeGrant:
    GRANT_TYPE: ClassVar[str] = "authorization_code"

    async def issue(self, ctx: TokenContext) -> dict[str, Any]:
        rt, client, params = ctx.rt, ctx.client, ctx.params
        code_hash, row = await presented_row(ctx, self.GRANT_TYPE, "code", CODES_REDEEMED, "Invalid authorization code")
        now = rt.clock.now()
        if row.consumed_at is not None:
            await _revoke_replayed(ctx, row)
            raise INVALID_GRANT.with_hint("Invalid authorization code")
        if row.expires_at <= now:
            raise INVALID_GRANT.with_hint("Invalid authorization code (expired)")
        if params.get("redirect_uri", row.redirect_uri) != row.redirect_uri:
            raise INVALID_GRANT.with_hint("redirect_uri does not match the authorization request.")
        check_pkce(row.code_challenge, params.get("code_verifier"))
        resource = params.get("resource") or params.get("audience")
        if resource and resource != (row.audience or rt.settings.userinfo_audience):
            raise INVALID_TARGET.with_hint("The resource does not match the authorization request.")
        user = holder_of(row)
        if user is None or user.blocked:
            raise INVALID_GRANT.with_hint("The user is blocked or no longer exists.")
        if consent_gone(row, now):
            if row.live_grant_id is not None:  # expired, not revoked: announce it (once) if no one has yet
                async with rt.db.write() as conn:
                    await webhooks.announce_expired(rt, conn, row.live_grant_id)
            raise INVALID_GRANT.with_hint("The user's consent was revoked or has expired.")
        inp = await mint_input(rt, client, row, list(row.scope))
        decision = decide(inp)
        if not decision.allowed:
            await _refuse(ctx, row, decision.reason)
        req = UserTokenRequest(
            client,
            user,
            decision.scopes,
            inp.api,
            row.session_id,
            row.auth_time,
            row.nonce,
            row.grant_id,
            grant_expires_at(row),
        )
        minted = await mint_user_tokens(rt, req, code_hash=code_hash)
        usage = usage_updates(rt, client.client_id, row.grant_id, now)
        if not await CODES_REDEEMED(rt.db, code_hash, now, minted.refresh_row, usage):
            raise INVALID_GRANT.with_hint("Invalid authorization code")
        rt.mint_log.add(
            now,
            audit.CODE_EXCHANGED,
            "Authorization code exchanged",
            client_id=client.client_id,
            user_id=user.user_id,
            ip=ctx.ip,
            details=mint_details(row, decision),
        )
        return minted.response


async def _refuse(ctx: TokenContext, row: HeldRow, reason: str) -> NoReturn:
    """The code's decision no longer holds: consume the code (it cannot succeed later), record why, refuse."""
    rt = ctx.rt
    async with rt.db.transaction() as s:
        await redemptions.mark_code_used_in(s, row.code_hash, rt.clock.now())
        audit.record(
            s,
            rt.clock.now(),
            audit.CODE_REFUSED,
            f"Code exchange refused: {reason}",
            client_id=row.client_id,
            user_id=row.user_id,
            ip=ctx.ip,
        )
    raise INVALID_GRANT.with_hint(f"Code exchange refused: {reason}.")


async def _revoke_replayed(ctx: TokenContext, row: HeldRow) -> None:
    rt = ctx.rt
    async with rt.db.transaction() as s:
        revoked = await refresh_tokens.revoke_code_families_in(s, rt.clock.now(), row.code_hash)
        audit.record(
            s,
            rt.clock.now(),
            audit.CODE_REPLAYED,
            "Authorization code replayed; tokens revoked",
            client_id=row.client_id,
            user_id=row.user_id,
            ip=ctx.ip,
        )
        if revoked:  # the refresh-token family the code began (RFC 9700 §4.14: reuse of what bought it)
            data = {
                "family_id": None,
                "client_id": row.client_id,
                "user_id": row.user_id,
                "grant_id": row.grant_id,
                "audience": row.audience,
                "reason": "code_replayed",
                "refresh_tokens_revoked": revoked,
            }
            await webhooks.emit(rt, s, REFRESH_FAMILY_REVOKED, data)


register(AuthorizationCodeGrant())
