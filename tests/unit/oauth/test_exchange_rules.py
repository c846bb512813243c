"""``oauth.exchange_rules``: who may exchange what at the RFC 8693 token exchange, one row per rule (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from consentry.oauth.exchange_rules import (
    ACCESS_TOKEN,
    DELEGATION_KIND,
    ID_JAG,
    ID_JAG_KIND,
    ID_TOKEN,
    JWT,
    MAX_ACTORS,
    Actor,
    DelegationDecision,
    JagDecision,
    Refusal,
    act_chain,
    delegated_scopes,
    delegation_decision,
    exchange_kind,
    id_jag_decision,
    may_act_allows,
)

JAG = {"subject_token": "t", "subject_token_type": ID_TOKEN, "requested_token_type": ID_JAG}
DELEGATE = {
    "subject_token": "t",
    "subject_token_type": ACCESS_TOKEN,
    "actor_token": "a",
    "actor_token_type": ACCESS_TOKEN,
}

KINDS: list[tuple[str, dict[str, str], str]] = [
    ("id_jag", JAG, ID_JAG_KIND),
    ("delegation", DELEGATE, DELEGATION_KIND),
    ("delegation_default_requested_type", {**DELEGATE, "requested_token_type": ACCESS_TOKEN}, DELEGATION_KIND),
    ("delegation_jwt_types", {**DELEGATE, "subject_token_type": JWT, "actor_token_type": JWT}, DELEGATION_KIND),
    ("no_subject_token", {**JAG, "subject_token": ""}, "subject_token"),
    ("no_subject_token_type", {k: v for k, v in JAG.items() if k != "subject_token_type"}, "subject_token_type"),
    ("id_jag_from_access_token", {**JAG, "subject_token_type": ACCESS_TOKEN}, "of type"),
    ("id_jag_with_actor", {**JAG, "actor_token": "a", "actor_token_type": ACCESS_TOKEN}, "no actor_token"),
    ("actor_without_type", {**DELEGATE, "actor_token_type": ""}, "together"),
    ("type_without_actor", {**DELEGATE, "actor_token": ""}, "together"),
    ("impersonation", {"subject_token": "t", "subject_token_type": ACCESS_TOKEN}, "impersonation"),
    ("unknown_requested_type", {**JAG, "requested_token_type": "urn:x:saml2"}, "requested_token_type"),
    ("delegation_from_id_token", {**DELEGATE, "subject_token_type": ID_TOKEN}, "of type"),
    ("delegation_odd_actor_type", {**DELEGATE, "actor_token_type": ID_TOKEN}, "actor_token_type"),
]


@pytest.mark.parametrize(("case", "params", "expected"), KINDS, ids=[k[0] for k in KINDS])
def test_exchange_kind(case: str, params: dict[str, str], expected: str) -> None:
    got = exchange_kind({k: v for k, v in params.items() if v})
    if expected in (ID_JAG_KIND, DELEGATION_KIND):
        assert got == expected, case
    else:
        assert isinstance(got, Refusal) and got.error == "invalid_request" and expected in got.reason, (case, got)


@dataclass(frozen=True)
class P:
    audience: str
    resource: str = ""
    scope: tuple[str, ...] = ("read:notes", "write:notes")


AS = "https://saas.example/"
NOTES = "https://saas.example/mcp"
POLICIES = (P(AS), P(AS, NOTES, ("read:notes",)), P("https://other.example/", "", ("x",)))

JAGS: list[tuple[str, tuple[P, ...], dict[str, Any], Any]] = [
    ("audience_only", POLICIES, {"audience": AS}, (POLICIES[0], ("read:notes", "write:notes"))),
    ("audience_and_resource", POLICIES, {"audience": AS, "resource": NOTES}, (POLICIES[1], ("read:notes",))),
    ("narrowed", POLICIES, {"audience": AS, "scope": "write:notes"}, (POLICIES[0], ("write:notes",))),
    (
        "unknown_scopes_dropped",
        POLICIES,
        {"audience": AS, "scope": "openid write:notes x"},
        (POLICIES[0], ("write:notes",)),
    ),
    ("only_policy_without_resource_named", (POLICIES[1],), {"audience": AS}, (POLICIES[1], ("read:notes",))),
    ("no_audience", POLICIES, {"audience": None}, ("invalid_request", "audience")),
    ("unknown_audience", POLICIES, {"audience": "https://evil.example/"}, ("invalid_target", "audience")),
    (
        "unknown_resource",
        POLICIES,
        {"audience": AS, "resource": "https://saas.example/x"},
        ("invalid_target", "resource"),
    ),
    ("no_policy_at_all", (), {"audience": AS}, ("invalid_target", "audience")),
    ("ambiguous_resource", (P(AS, NOTES), P(AS, NOTES + "2")), {"audience": AS}, ("invalid_request", "send resource")),
    (
        "no_scope_left",
        POLICIES,
        {"audience": AS, "resource": NOTES, "scope": "write:notes"},
        ("invalid_scope", "scopes"),
    ),
]


@pytest.mark.parametrize(("case", "policies", "request_", "expected"), JAGS, ids=[j[0] for j in JAGS])
def test_id_jag_decision(case: str, policies: tuple[P, ...], request_: dict[str, Any], expected: Any) -> None:
    got = id_jag_decision(
        policies, audience=request_.get("audience"), resource=request_.get("resource"), scope=request_.get("scope")
    )
    if isinstance(expected[0], P):
        assert got == JagDecision(expected[0], expected[1]), case
    else:
        assert isinstance(got, Refusal) and got.error == expected[0] and expected[1] in got.reason, (case, got)


AGENT = Actor(sub="agent@clients", client_id="agent")


def _act(depth: int) -> dict[str, Any] | None:
    act: dict[str, Any] | None = None
    for n in range(depth, 0, -1):
        act = {"sub": f"a{n}@clients", "client_id": f"a{n}", **({"act": act} if act else {})}
    return act


def _subject(**claims: Any) -> dict[str, Any]:
    return {"sub": "auth0|u1", "client_id": "app", **{k: v for k, v in claims.items() if v is not None}}


DELEGATIONS: list[tuple[str, dict[str, Any], str, Any]] = [
    ("first_actor", _subject(), "agent", ("agent",)),
    ("chain_of_four", _subject(act=_act(3)), "agent", ("agent", "a1", "a2", "a3")),
    ("fifth_refused", _subject(act=_act(4)), "agent", ("invalid_grant", f"at most {MAX_ACTORS}")),
    ("actor_token_of_another_client", _subject(), "someone", ("invalid_grant", "actor_token")),
    ("client_credentials_subject", _subject(gty="client-credentials"), "agent", ("invalid_grant", "user")),
    ("malformed_act", _subject(act={"client_id": "x"}), "agent", ("invalid_grant", "malformed")),
    ("may_act_names_actor", _subject(may_act={"client_id": "agent"}), "agent", ("agent",)),
    ("may_act_names_sub", _subject(may_act={"sub": "agent@clients"}), "agent", ("agent",)),
    ("may_act_other", _subject(may_act={"client_id": "other"}), "agent", ("invalid_grant", "may_act")),
    ("may_act_empty", _subject(may_act={}), "agent", ("invalid_grant", "may_act")),
    ("may_act_not_object", _subject(may_act="agent"), "agent", ("invalid_grant", "may_act")),
]


@pytest.mark.parametrize(("case", "subject", "client_id", "expected"), DELEGATIONS, ids=[d[0] for d in DELEGATIONS])
def test_delegation_decision(case: str, subject: dict[str, Any], client_id: str, expected: Any) -> None:
    got = delegation_decision(subject, AGENT, "agent", client_id)
    if expected[0].startswith("invalid_"):
        assert isinstance(got, Refusal) and got.error == expected[0] and expected[1] in got.reason, (case, got)
        return
    assert isinstance(got, DelegationDecision), (case, got)
    assert got.actors == expected
    assert got.act["sub"] == "agent@clients" and got.act["client_id"] == "agent"
    assert got.act.get("act") == subject.get("act"), "the previous actors nest inside"


def test_act_chain_is_outermost_first_and_bounded() -> None:
    chain = act_chain(_act(3))
    assert chain is not None and [a["client_id"] for a in chain] == ["a1", "a2", "a3"]
    assert act_chain(None) == ()
    assert act_chain(_act(MAX_ACTORS + 2)) is None, "a chain longer than anyone could mint is malformed"


@pytest.mark.parametrize(
    ("may_act", "allowed"),
    [
        (None, True),
        ({"client_id": "agent"}, True),
        ({"sub": "agent@clients", "client_id": "agent"}, True),
        ({"sub": "agent@clients", "client_id": "other"}, False),
        ({"iss": "x"}, False),
        ([], False),
    ],
)
def test_may_act_allows(may_act: object, allowed: bool) -> None:
    assert may_act_allows(may_act, AGENT) is allowed


@pytest.mark.parametrize(
    ("scopes", "requested", "expected"),
    [
        (("read:posts", "write:posts"), None, ("read:posts", "write:posts")),
        (("read:posts", "write:posts"), "write:posts", ("write:posts",)),
        (("read:posts",), "read:posts delete:posts", ("read:posts",)),
        (("read:posts",), "delete:posts", "invalid_scope"),
    ],
)
def test_delegated_scopes_never_grow(scopes: tuple[str, ...], requested: str | None, expected: Any) -> None:
    got = delegated_scopes(scopes, requested)
    if expected == "invalid_scope":
        assert isinstance(got, Refusal) and got.error == "invalid_scope"
    else:
        assert got == expected
