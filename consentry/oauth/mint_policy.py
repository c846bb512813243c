"""The decision made again at every token mint of a user flow, from current data. Pure.

``/authorize`` decided once, when the user was there: the app, the API's policy, the client grant as the
scope ceiling, the user's permissions (an API that enforces RBAC), the connection, the user, the consent. A code
exchange and every refresh make the same decision again (SPEC T4–T8, C1–C11 hold over time, not only at
consent), so a narrowed or deleted client grant, an API set to ``deny_all``, a permission taken from the user
(or from their role), a connection no longer allowed, a blocked user or a revoked consent take effect at the
next mint:

- scopes that are no longer allowed are dropped (the response's ``scope`` says which remain);
- when nothing the app may have is left — the app, the user, the connection, the consent or the API access
  is gone, the consent's chosen duration has run out, or none of the API scopes the token carried survives —
  the mint is refused.

The same function answers introspection and the other token checks (``consentry.tokens.liveness``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from consentry.config_records import ApiInfo, ClientGrantInfo, ClientInfo, ConnectionInfo
from consentry.oauth.access import USER, allowed_connections, api_access
from consentry.oauth.authorize.request import IDENTITY_SCOPES, OFFLINE


class UserState(Protocol):
    """What the decision reads about the user: a ``UserRecord``, or the columns a token check reads."""

    @property
    def blocked(self) -> bool: ...

    @property
    def connection_id(self) -> str: ...


@dataclass(frozen=True)
class MintInput:
    client: ClientInfo | None  # None: the application was deleted
    user: UserState | None  # None: the user was deleted
    audience: str | None  # the API the tokens are for (None: userinfo only)
    api: ApiInfo | None  # the API now (None with an audience: the API was deleted)
    client_grants: tuple[ClientGrantInfo, ...]  # current client grants for (audience, client)
    connections: tuple[ConnectionInfo, ...]  # current connections as seen by the client
    scopes: tuple[str, ...]  # what the code or the refresh token carries (after any narrowing)
    under_consent: bool  # the tokens were issued under a user grant (consent)
    consent: frozenset[str] | None  # the scopes of that user grant now (None: no live grant exists now)
    consent_expired: bool = False  # the grant exists but the duration the user chose has run out
    permitted: frozenset[str] | None = None  # the user's permissions for the API now (RBAC); None: not enforced


@dataclass(frozen=True)
class MintDecision:
    allowed: bool
    scopes: tuple[str, ...]
    dropped: tuple[str, ...]
    reason: str


APP_GONE = "the application no longer exists"
USER_GONE = "the user no longer exists"
USER_BLOCKED = "the user is blocked"
CONSENT_EXPIRED = "the access the user gave has expired"


def refused(reason: str) -> MintDecision:
    return MintDecision(False, (), (), reason)


def decide(inp: MintInput) -> MintDecision:
    """May tokens be minted now, and with which of ``inp.scopes``?"""
    client, user = inp.client, inp.user
    if client is None or client.status != "active":
        return refused(APP_GONE)
    if user is None:
        return refused(USER_GONE)
    if user.blocked:
        return refused(USER_BLOCKED)
    if user.connection_id not in {c.id for c in allowed_connections(client, inp.connections)}:
        return refused("the user's connection is no longer available to this application")
    if (inp.under_consent or client.is_third_party) and inp.consent is None:
        return refused(CONSENT_EXPIRED if inp.consent_expired else "the user's consent was revoked")
    ceiling: frozenset[str] = frozenset()
    if inp.audience is not None:
        if inp.api is None:
            return refused("the API no longer exists")
        access = api_access(client, inp.api, inp.client_grants, USER)
        if not access.allowed:
            return refused(access.reason)
        ceiling = access.ceiling
    kept, dropped = split(inp, ceiling)
    carried_api_scopes = [s for s in inp.scopes if not _is_identity_or_offline(s)]
    if (inp.scopes and not kept) or (carried_api_scopes and all(s in dropped for s in carried_api_scopes)):
        return MintDecision(False, (), tuple(dropped), "none of the granted scopes is allowed any more")
    return MintDecision(True, tuple(kept), tuple(dropped), "allowed")


def _is_identity_or_offline(scope: str) -> bool:
    return scope in IDENTITY_SCOPES or scope == OFFLINE


def split(inp: MintInput, ceiling: frozenset[str]) -> tuple[list[str], list[str]]:
    """(kept, dropped) in order: API scopes within the ceiling and (RBAC) the user's permissions, offline access
    while the API allows it and, for third-party apps, only what the user's grant still covers."""
    kept: list[str] = []
    dropped: list[str] = []
    for scope in dict.fromkeys(inp.scopes):
        (kept if _still_allowed(inp, ceiling, scope) else dropped).append(scope)
    return kept, dropped


def _still_allowed(inp: MintInput, ceiling: frozenset[str], scope: str) -> bool:
    assert inp.client is not None
    if inp.client.is_third_party and inp.consent is not None and scope not in inp.consent:
        return False  # third-party apps hold only what the user approved (C1)
    if scope in IDENTITY_SCOPES:
        return True
    if scope == OFFLINE:
        return inp.api is None or inp.api.allow_offline_access
    return scope in ceiling and (inp.permitted is None or scope in inp.permitted)
