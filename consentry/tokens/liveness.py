"""Is a signed, unexpired access token still backed by the decisions it was minted under? From current data.

A signature proves what was decided at mint time; revocation must reach the token too (issue: a revoked
consent leaving tokens active for their whole lifetime). So every place that accepts our access tokens —
introspection, ``/userinfo``, the Management API — asks ``live_scopes``, which makes the mint decision again
(``oauth.mint_policy`` for user tokens, ``oauth.access.api_access`` for client tokens):

- the application still exists and is active (deleting it ends its tokens; rotating its secret does not);
- machine-to-machine tokens: the API's policy and the client grant still allow them;
- user tokens: the user exists and is not blocked, still holds the permissions (an API that enforces RBAC),
  their connection is still allowed for the app, the user grant named in the ``grant_id`` claim still exists
  and has not expired, the refresh-token family named in ``family_id`` is not revoked, and the API's policy and
  client grant still allow the app.

The answer is the token's scopes that are still allowed (a narrowed client grant narrows them), or the
reason it is revoked.
Cost: catalog lookups (cached) plus, for user tokens, one indexed read (docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consentry.oauth.access import CLIENT, api_access
from consentry.oauth.authorize.permissions import permissions_for
from consentry.oauth.mint_policy import APP_GONE, USER_BLOCKED, USER_GONE, MintInput, decide
from consentry.oauth.params import scope_list
from consentry.runtime import Runtime
from consentry.services.user_grants import expired
from consentry.storage import token_state
from consentry.tokens import subjects
from consentry.tokens.issue import FAMILY_CLAIM, GRANT_CLAIM


def api_audience(rt: Runtime, claims: dict[str, Any]) -> str | None:
    """The API the token is for (None: userinfo only)."""
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    return next((a for a in audiences if isinstance(a, str) and a != rt.settings.userinfo_audience), None)


@dataclass(frozen=True)
class Verdict:
    scopes: tuple[str, ...] | None  # None: revoked
    reason: str = ""

    @property
    def user_gone(self) -> bool:
        return self.reason in (USER_GONE, USER_BLOCKED)


def revoked(reason: str) -> Verdict:
    return Verdict(None, reason)


async def live_scopes(rt: Runtime, claims: dict[str, Any]) -> Verdict:
    """The scopes of a verified access token that current decisions still allow, or why it is revoked."""
    client_id = claims.get("client_id")
    client = await rt.catalog.client(client_id) if isinstance(client_id, str) and len(client_id) <= 512 else None
    if client is None or client.status != "active":
        return revoked(APP_GONE)
    assert isinstance(client_id, str)
    scope = claims.get("scope")
    scopes, audience = tuple(scope_list(scope if isinstance(scope, str) else None)), api_audience(rt, claims)
    api = await rt.catalog.api(audience) if audience and len(audience) <= 600 else None
    if audience and api is None:
        return revoked("the API no longer exists")
    grants = await rt.catalog.client_grants(audience, client_id) if audience else ()
    if claims.get("gty") == "client-credentials":
        assert api is not None
        access = api_access(client, api, grants, CLIENT)
        kept = tuple(s for s in scopes if s in access.ceiling)
        if not access.allowed or (scopes and not kept):
            return revoked(access.reason if not access.allowed else "none of its scopes is granted any more")
        return Verdict(kept)
    user_id = subjects.resolve(rt.keys.kek, client_id, str(claims.get("sub", "")))
    if user_id is None or len(user_id) > 255:
        return revoked(USER_GONE)
    grant_id, family_id = claims.get(GRANT_CLAIM), claims.get(FAMILY_CLAIM)
    row = await token_state.read(rt.db, user_id, str(grant_id or ""), str(family_id or ""))
    if row is None:
        return revoked(USER_GONE)
    if family_id and row.family_revoked:
        return revoked("its refresh token family was revoked")
    ended = False
    if grant_id:
        ended = row.grant_id is not None and expired(row.grant_expires_at, rt.clock.now())
        consent = frozenset(row.grant_scope or ()) if row.grant_id is not None and not ended else None
    else:  # minted without consent (first-party), or before tokens named their grant: nothing to re-check
        consent = frozenset(scopes)
    inp = MintInput(
        client,
        row,
        audience,
        api,
        grants,
        await rt.catalog.connections(client_id),
        scopes,
        bool(grant_id),
        consent,
        consent_expired=ended,
        permitted=await permissions_for(rt, api, user_id),
    )
    decision = decide(inp)
    return Verdict(decision.scopes) if decision.allowed else revoked(decision.reason)
