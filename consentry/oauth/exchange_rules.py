"""Who may exchange what at ``grant_type=urn:ietf:params:oauth:grant-type:token-exchange`` (RFC 8693). Pure.

Two exchanges are served, told apart by the token types (``exchange_kind``):

- **ID-JAG** (draft-ietf-oauth-identity-assertion-authz-grant §4.3): an ID token this server issued to the
  client, for an Identity Assertion JWT Authorization Grant to present at another authorization server
  (``audience``). ``id_jag_decision`` picks the admin's policy for that audience and resource and narrows the
  scopes to it: the policy stands in for the user's consent (enterprise-managed authorization).
- **Delegation** (RFC 8693 §1.1, §4.1): the user's access token (``subject_token``) and the actor's own access
  token (``actor_token``), for an access token whose ``act`` names the actor, nested for chains.
  ``delegation_decision`` checks the actor against the authenticated client and ``may_act`` and caps the
  chain at ``MAX_ACTORS``.

Each refusal is a ``Refusal`` naming the RFC 6749 / RFC 8693 error code; the grant renders it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

TOKEN_TYPE = "urn:ietf:params:oauth:token-type:"
ID_JAG = TOKEN_TYPE + "id-jag"
ID_TOKEN = TOKEN_TYPE + "id_token"
ACCESS_TOKEN = TOKEN_TYPE + "access_token"
JWT = TOKEN_TYPE + "jwt"
MAX_ACTORS = 4  # Auth0's cap on nested ``act``: a fifth actor is refused
ID_JAG_KIND, DELEGATION_KIND = "id-jag", "delegation"


def scope_list(value: str | None) -> list[str]:
    """A space-delimited scope string, de-duplicated in order (as ``oauth.params.scope_list``, without its imports)."""
    return list(dict.fromkeys((value or "").split()))


@dataclass(frozen=True)
class Refusal:
    error: str  # invalid_request | invalid_grant | invalid_target | invalid_scope
    reason: str


class ExchangeRefused(Exception):
    """Raised by the exchange steps with their ``Refusal``; the grant renders it."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


def exchange_kind(params: Mapping[str, str]) -> str | Refusal:
    """Which exchange the request asks for, from ``requested_token_type``, ``subject_token_type`` and the actor."""
    requested = params.get("requested_token_type") or ACCESS_TOKEN
    subject_type, actor_type = params.get("subject_token_type"), params.get("actor_token_type")
    if not params.get("subject_token"):
        return Refusal("invalid_request", "Missing required parameter: subject_token")
    if not subject_type:
        return Refusal("invalid_request", "Missing required parameter: subject_token_type")
    if bool(params.get("actor_token")) != bool(actor_type):
        return Refusal("invalid_request", "actor_token and actor_token_type must be sent together")
    if requested == ID_JAG:
        if subject_type != ID_TOKEN:
            return Refusal("invalid_request", f"An ID-JAG is issued for a subject_token of type {ID_TOKEN}")
        if params.get("actor_token"):
            return Refusal("invalid_request", "An ID-JAG request takes no actor_token")
        return ID_JAG_KIND
    if requested != ACCESS_TOKEN:
        return Refusal("invalid_request", "requested_token_type must be id-jag or access_token")
    if subject_type not in (ACCESS_TOKEN, JWT):
        return Refusal(
            "invalid_request", f"A delegated access token is issued for a subject_token of type {ACCESS_TOKEN}"
        )
    if not params.get("actor_token"):
        return Refusal(
            "invalid_request", "Delegation needs the actor's token (actor_token); impersonation is not offered"
        )
    if actor_type not in (ACCESS_TOKEN, JWT):
        return Refusal("invalid_request", f"actor_token_type must be {ACCESS_TOKEN}")
    return DELEGATION_KIND


class Policy(Protocol):
    """The admin's Cross App Access policy (``storage.xaa_policies.PolicyInfo``)."""

    @property
    def audience(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def scope(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class JagDecision:
    policy: Any  # the chosen Policy
    scopes: tuple[str, ...]


def id_jag_decision(
    policies: Sequence[Policy], *, audience: str | None, resource: str | None, scope: str | None
) -> JagDecision | Refusal:
    """The policy of this app for ``audience`` (and ``resource``) and the scopes the ID-JAG carries.

    No ``resource``: the app's policy for the audience without one, else its only policy for the audience.
    No ``scope``: everything the policy allows; else the requested scopes within it (none left: ``invalid_scope``).
    """
    if not audience:
        return Refusal("invalid_request", "Missing required parameter: audience (the resource authorization server)")
    for_audience = [p for p in policies if p.audience == audience]
    if not for_audience:
        return Refusal("invalid_target", "The application may not request an ID-JAG for this audience")
    if resource:
        chosen = [p for p in for_audience if p.resource == resource]
        if not chosen:
            return Refusal("invalid_target", "The application may not request an ID-JAG for this resource")
    else:
        chosen = [p for p in for_audience if not p.resource] or (for_audience if len(for_audience) == 1 else [])
        if not chosen:
            return Refusal("invalid_request", "Several resources are allowed at this audience: send resource")
    policy = chosen[0]
    requested = scope_list(scope)
    if not requested:
        return JagDecision(policy, tuple(policy.scope))
    kept = tuple(s for s in dict.fromkeys(requested) if s in policy.scope)
    if not kept:
        return Refusal("invalid_scope", "None of the requested scopes is allowed for this audience")
    return JagDecision(policy, kept)


@dataclass(frozen=True)
class Actor:
    """Who acts: the ``sub`` and ``client_id`` of the actor's own access token."""

    sub: str
    client_id: str


@dataclass(frozen=True)
class DelegationDecision:
    act: dict[str, Any]  # the new token's ``act``: the actor, with the subject token's ``act`` nested
    actors: tuple[str, ...]  # client ids of the chain, outermost (this actor) first


def act_chain(act: object) -> tuple[dict[str, Any], ...] | None:
    """The nested ``act`` claims, outermost first (None: malformed)."""
    chain: list[dict[str, Any]] = []
    while act is not None:
        if not isinstance(act, dict) or not isinstance(act.get("sub"), str) or len(chain) > MAX_ACTORS:
            return None
        chain.append(act)
        act = act.get("act")
    return tuple(chain)


def may_act_allows(may_act: object, actor: Actor) -> bool:
    """RFC 8693 §4.4: when the subject token names who may act for it, the actor must match every member given."""
    if may_act is None:
        return True
    if not isinstance(may_act, dict) or not ({"sub", "client_id"} & set(may_act)):
        return False
    return all(may_act[k] == getattr(actor, k) for k in ("sub", "client_id") if k in may_act)


def delegation_decision(
    subject: Mapping[str, Any], actor: Actor, actor_token_client_id: str, client_id: str
) -> DelegationDecision | Refusal:
    """May ``client_id``, presenting ``actor``'s token, act for the user of ``subject`` (verified claims)?"""
    if actor_token_client_id != client_id:
        return Refusal("invalid_grant", "The actor_token was not issued to the authenticated client")
    if subject.get("gty") == "client-credentials":
        return Refusal("invalid_grant", "The subject_token is not a user's token")
    chain = act_chain(subject.get("act"))
    if chain is None:
        return Refusal("invalid_grant", "The subject_token's act claim is malformed")
    if len(chain) + 1 > MAX_ACTORS:
        return Refusal("invalid_grant", f"A delegation chain has at most {MAX_ACTORS} actors")
    if not may_act_allows(subject.get("may_act"), actor):
        return Refusal("invalid_grant", "The subject_token's may_act does not name this actor")
    act: dict[str, Any] = {"sub": actor.sub, "client_id": actor.client_id}
    if chain:
        act["act"] = subject["act"]
    actors = (actor.client_id, *(str(a.get("client_id") or a["sub"]) for a in chain))
    return DelegationDecision(act, actors)


def delegated_scopes(subject_scopes: Sequence[str], requested: str | None) -> tuple[str, ...] | Refusal:
    """The subject token's live scopes, narrowed to the request's ``scope`` when given: never more (RFC 8693 §5)."""
    wanted = scope_list(requested)
    if not wanted:
        return tuple(subject_scopes)
    kept = tuple(s for s in dict.fromkeys(wanted) if s in subject_scopes)
    if not kept:
        return Refusal("invalid_scope", "None of the requested scopes is carried by the subject_token")
    return kept
