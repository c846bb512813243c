"""``urn:ietf:params:oauth:grant-type:token-exchange`` (RFC 8693): the app's grant type, then the exchange the token
types name (``oauth.exchange_rules.exchange_kind``): an ID-JAG for another authorization server
(``oauth.grants.id_jag_exchange``) or a delegated access token (``oauth.grants.delegation``).

The client must list the grant type (else ``unauthorized_client``). Exchanges per app and minute are limited
like ID-JAG redemptions (``id_jag_rate_limit_per_minute``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from consentry.oauth.client_auth import require_grant_type
from consentry.oauth.client_rules import TOKEN_EXCHANGE
from consentry.oauth.errors import (
    INVALID_GRANT,
    INVALID_REQUEST,
    INVALID_SCOPE,
    INVALID_TARGET,
    TOO_MANY_REQUESTS,
    OAuthError,
)
from consentry.oauth.exchange_rules import ID_JAG_KIND, ExchangeRefused, Refusal, exchange_kind
from consentry.oauth.grants import delegation, id_jag_exchange
from consentry.oauth.grants.base import TokenContext, register
from consentry.services import rate_limit

ERRORS = {e.error: e for e in (INVALID_REQUEST, INVALID_GRANT, INVALID_TARGET, INVALID_SCOPE)}
REFUSED = "token_exchange.refused"


class TokenExchangeGrant:
    GRANT_TYPE: ClassVar[str] = TOKEN_EXCHANGE

    async def issue(self, ctx: TokenContext) -> dict[str, Any]:
        require_grant_type(ctx.client, TOKEN_EXCHANGE)
        if not await rate_limit.hit(
            ctx.rt, f"token-exchange:{ctx.client.client_id}", ctx.rt.settings.id_jag_rate_limit_per_minute, 60
        ):
            raise refused(
                ctx, Refusal("too_many_requests", "Too many token exchanges for this application")
            ).with_headers({"Retry-After": "60"})
        kind = exchange_kind(ctx.params)
        if isinstance(kind, Refusal):
            raise refused(ctx, kind)
        try:
            if kind == ID_JAG_KIND:
                return await id_jag_exchange.exchange(ctx)
            return await delegation.exchange(ctx)
        except ExchangeRefused as exc:
            raise refused(ctx, exc.refusal) from None


def refused(ctx: TokenContext, refusal: Refusal) -> OAuthError:
    """The OAuth error of a refusal, recorded in the audit log (never the tokens themselves)."""
    ctx.rt.mint_log.add(ctx.rt.clock.now(), REFUSED, refusal.reason[:500], client_id=ctx.client.client_id, ip=ctx.ip)
    base = TOO_MANY_REQUESTS if refusal.error == "too_many_requests" else ERRORS.get(refusal.error, INVALID_REQUEST)
    return base.with_hint(refusal.reason.rstrip(".") + ".")


register(TokenExchangeGrant())
