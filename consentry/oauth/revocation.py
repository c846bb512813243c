"""``POST /oauth/revoke`` (RFC 7009, Auth0's revoke refresh token): the client gives a refresh token up.

- The client authenticates as at the token endpoint (confidential: its secret; public: ``client_id``
  only). Form or JSON body (spa-js posts a form, auth0-python JSON); ``token_type_hint`` is accepted
  and not needed, because the two kinds of token differ in shape.
- A refresh token is revoked with its whole rotation family (RFC 9700 §4.14.2: the client cannot
  hold a newer member the attacker could still use). With the tenant flag
  ``revoke_refresh_token_grant`` the user grant behind it is deleted too (Auth0), which revokes every
  other refresh token issued under that consent.
- The answer is ``200`` with an empty body whatever the token was (RFC 7009 §2.2): unknown, already
  revoked, or issued to another client (that client's token is left alone, and the caller learns
  nothing about it). Access tokens are self-contained JWTs that live until ``exp``; they cannot be
  revoked here and get the same ``200`` (Auth0's behaviour; RFC 7009 §2.2.1 ``unsupported_token_type``
  would break clients that revoke both tokens on logout).
"""

from __future__ import annotations

from starlette.requests import Request

from consentry.oauth.client_auth import authenticate_client
from consentry.oauth.errors import INVALID_REQUEST
from consentry.oauth.params import body_params
from consentry.runtime import Runtime
from consentry.services import audit, user_grants
from consentry.storage import refresh_tokens
from consentry.tenant import flag
from consentry.tokens import ids
from consentry.web import client_ip

TOKEN_REVOKED = "refresh_token.revoked"
MAX_REFRESH_TOKEN = 200


async def revoke(rt: Runtime, request: Request) -> None:
    params = await body_params(request)
    client = await authenticate_client(request, params, rt.catalog)  # RFC 7009 §2.1: client first
    token = params.get("token")
    if not token:
        raise INVALID_REQUEST.with_hint("Missing required parameter: token")
    if len(token) > MAX_REFRESH_TOKEN or "." in token:
        return  # a JWT access token (or garbage): nothing stored to revoke
    digest = ids.digest(token)
    row = await refresh_tokens.find(rt.db, digest)
    if row is None or row.client_id != client.client_id:
        return
    revoke_grant = bool(row.grant_id) and flag(await rt.catalog.tenant(), "revoke_refresh_token_grant")
    now, ip = rt.clock.now(), client_ip(request)
    async with rt.db.transaction() as s:
        revoked = await refresh_tokens.revoke_family_in(s, now, row.family_id)
        grant_deleted = False
        if revoke_grant and row.grant_id and await user_grants.grant_exists(s, row.grant_id):
            await user_grants.revoke_grant(rt, s, row.grant_id, actor=f"client:{client.client_id}", ip=ip)
            grant_deleted = True
        if revoked or grant_deleted:
            details = {"family_revoked": revoked, "grant_id": row.grant_id if grant_deleted else None}
            audit.record(
                s,
                now,
                TOKEN_REVOKED,
                "Refresh token revoked by the application",
                client_id=row.client_id,
                user_id=row.user_id,
                ip=ip,
                details=details,
            )
