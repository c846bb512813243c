"""``refresh_token`` (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14).

Each use returns a new refresh token and retires the old one in one atomic update; presenting a
retired token again revokes the whole family — unless it comes within the client's ``leeway`` of its
rotation (a retry after a lost response), which is answered again. A refresh may narrow the scope or keep
the resource, never widen either. Public and third-party clients always rotate.

Every refresh makes the ``/authorize`` decision again from current data (``mint_policy``): scopes no longer
allowed are dropped, and when nothing is left the family is revoked and the answer is ``invalid_grant``.
The family keeps its absolute end through rotation, never later than the end of the user grant (the duration
the user chose); each token also expires after the idle lifetime. An expired grant refuses with ``invalid_grant``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from consentry.oauth.errors import INVALID_GRANT, INVALID_SCOPE, INVALID_TARGET
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
from consentry.oauth.params import scope_list
from consentry.services import audit, webhooks
from consentry.services.webhook_rules import REFRESH_FAMILY_REVOKED
from consentry.storage import redemptions, refresh_tokens
from consentry.storage.redemptions import REFRESH_ROTATED, HeldRow
from consentry.tokens.issue import Family, UserTokenRequest, family_end, mint_user_tokens, refresh_expiry

UNKNOWN = "Unknown or invalid refresh token."


class RefreshTokenGrant:
    GRANT_TYPE: ClassVar[str] = "refresh_token"

    async def issue(self, ctx: TokenContext) -> dict[str, Any]:
        rt, client, params = ctx.rt, ctx.client, ctx.params
        _, row = await presented_row(ctx, self.GRANT_TYPE, "refresh_token", REFRESH_ROTATED, UNKNOWN)
        now = rt.clock.now()
        if row.revoked_at is not None or row.expires_at <= now:
            raise INVALID_GRANT.with_hint(UNKNOWN)
        rotate = client.rotates_refresh_tokens
        retry = rotate and row.rotated_at is not None
        leeway = client.refresh.leeway
        if retry and (not leeway or not 0 <= now - row.rotated_at <= leeway):
            await _revoke_family(ctx, row, audit.TOKEN_REUSE, "Refresh token reused; family revoked")
            raise INVALID_GRANT.with_hint(UNKNOWN)
        scopes = _narrowed(row.scope, params.get("scope"))
        target = params.get("audience") or params.get("resource")  # audience wins (Auth0 compatibility profile)
        if target and target != row.audience:
            raise INVALID_TARGET.with_hint("A refresh cannot change the resource of the original grant.")
        inp = await mint_input(rt, client, row, scopes)
        decision = decide(inp)
        user = holder_of(row)
        if not decision.allowed or user is None:
            await _revoke_family(ctx, row, audit.REFRESH_REFUSED, f"Refresh refused: {decision.reason}")
            raise INVALID_GRANT.with_hint(UNKNOWN if user is None else f"Refresh refused: {decision.reason}.")
        grant_end = grant_expires_at(row)
        req = UserTokenRequest(
            client, user, decision.scopes, inp.api, row.session_id, row.auth_time, None, row.grant_id, grant_end
        )
        # Non-rotating (first-party, confidential) clients keep using the token they have.
        family = Family(row.family_id, family_end(row.family_expires_at, grant_end))
        minted = await mint_user_tokens(rt, req, family=family, mint_refresh=rotate)
        usage = usage_updates(rt, client.client_id, row.grant_id, now)
        if rotate and not retry:
            if not await REFRESH_ROTATED(rt.db, row.id, now, minted.refresh_row, usage):
                raise INVALID_GRANT.with_hint(UNKNOWN)
        else:  # one write transaction for what else is due
            if retry and minted.refresh_row is not None:  # within the leeway: one more successor, nothing to mark
                usage.append(redemptions.store_refresh_token(minted.refresh_row))
            elif not rotate and client.refresh.idle_lifetime():  # a non-rotating token's idle deadline moves on
                usage.append(
                    redemptions.extend_refresh_token(row.id, refresh_expiry(rt, client, family.expires_at, now))
                )
            await redemptions.write(rt.db, usage)
        rt.mint_log.add(
            now,
            audit.REFRESH_EXCHANGED,
            "Refresh token exchanged" + (" (retry within leeway)" * retry),
            client_id=client.client_id,
            user_id=user.user_id,
            ip=ctx.ip,
            details=mint_details(row, decision),
        )
        return minted.response


def _narrowed(original: list[str], requested: str | None) -> list[str]:
    if not requested:
        return list(original)
    wanted = scope_list(requested)
    extra = [s for s in wanted if s not in original]
    if extra:
        raise INVALID_SCOPE.with_hint("A refresh cannot widen the scope: " + " ".join(extra)[:200])
    return [s for s in original if s in wanted]


async def _revoke_family(ctx: TokenContext, row: HeldRow, type_: str, description: str) -> None:
    """Revoke the family with its audit event; a reuse is announced (``refresh_family.revoked``), and so is a
    user grant this refresh found expired (``grant.expired``, unless already announced)."""
    rt = ctx.rt
    async with rt.db.transaction() as s:
        revoked = await refresh_tokens.revoke_family_in(s, rt.clock.now(), row.family_id)
        audit.record(s, rt.clock.now(), type_, description, client_id=row.client_id, user_id=row.user_id, ip=ctx.ip)
        if type_ == audit.TOKEN_REUSE:
            data = {
                "family_id": row.family_id,
                "client_id": row.client_id,
                "user_id": row.user_id,
                "grant_id": row.grant_id,
                "audience": row.audience,
                "reason": "reuse",
                "refresh_tokens_revoked": revoked,
            }
            await webhooks.emit(rt, s, REFRESH_FAMILY_REVOKED, data)
        if row.live_grant_id is not None and consent_gone(row, rt.clock.now()):
            await webhooks.announce_expired(rt, s, row.live_grant_id)


register(RefreshTokenGrant())
