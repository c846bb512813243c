"""RBAC in the pure decisions: final scope = requested ∩ client grant ∩ user permissions (RBAC on) ∩ consent.

One table, read by three deciders that must agree: the authorization request narrowed once the user is known
(``AuthorizeContext.limit_to_permissions``, which the consent screen and the code read), the consent policy
(``consent.policy.evaluate`` with ``lacking``: a scope the user lacks is never asked for) and every later mint
(``mint_policy.decide`` with ``permitted``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from consentry.config_records import ConnectionInfo
from consentry.consent.decision import consent_decision, consent_scopes
from consentry.consent.policy import ConsentInput, Prompt, evaluate
from consentry.oauth.access import within_permissions
from consentry.oauth.authorize.request import AuthorizeContext
from consentry.oauth.mint_policy import MintInput, decide
from consentry.tokens.jwt import permissions_claim
from tests.unit.builders import make_api, make_client, make_grant

READ, WRITE, DELETE = "read:posts", "write:posts", "delete:posts"
PARTNER = make_client(first_party=False)
OURS = make_client()
DOMAIN_DB = ConnectionInfo("con_db", "Username-Password-Authentication", "auth0", True, frozenset(), {})


@dataclass(frozen=True)
class User:
    blocked: bool = False
    connection_id: str = "con_db"


@dataclass(frozen=True)
class Case:
    id: str
    third_party: bool
    requested: tuple[str, ...]  # API scopes the request names
    ceiling: tuple[str, ...]  # the client grant's scopes
    permissions: frozenset[str] | None  # the user's permissions (None: the API does not enforce RBAC)
    consent: frozenset[str] | None  # what the user approved (None: first-party, no consent)
    final: tuple[str, ...]  # what the token gets


ALL = frozenset({READ, WRITE, DELETE})
EVERY = (READ, WRITE, DELETE)
TABLE = [
    Case("rbac_off_everything_requested", True, (READ, WRITE), (READ, WRITE), None, ALL, (READ, WRITE)),
    Case("rbac_on_user_lacks_write", True, (READ, WRITE), (READ, WRITE), frozenset({READ}), ALL, (READ,)),
    Case("rbac_on_user_has_all", True, (READ, WRITE), (READ, WRITE), ALL, ALL, (READ, WRITE)),
    Case("grant_ceiling_beats_permission", True, (READ, DELETE), (READ,), ALL, ALL, (READ,)),
    Case("consent_beats_permission", True, (READ, WRITE), (READ, WRITE), ALL, frozenset({WRITE}), (WRITE,)),
    Case(
        "all_four_intersect",
        True,
        (READ, WRITE, DELETE),
        (READ, WRITE),
        frozenset({WRITE, DELETE}),
        frozenset({READ, WRITE}),
        (WRITE,),
    ),
    Case("first_party_rbac_on", False, (READ, WRITE, DELETE), EVERY, frozenset({DELETE}), None, (DELETE,)),
    Case("first_party_rbac_off", False, (READ, WRITE), EVERY, None, None, (READ, WRITE)),
    Case("permission_unrequested_is_not_added", False, (READ,), EVERY, frozenset({READ, WRITE}), None, (READ,)),
]


def _mint(case: Case) -> MintInput:
    client = PARTNER if case.third_party else OURS
    return MintInput(
        client=client,
        user=User(),
        audience="https://social.example.com",
        api=make_api(enforce_policies=case.permissions is not None),
        client_grants=(make_grant(client.client_id, case.ceiling),),
        connections=(DOMAIN_DB,),
        scopes=("openid", *case.requested),
        under_consent=case.consent is not None,
        consent=None if case.consent is None else case.consent | {"openid"},
        permitted=case.permissions,
    )


def _ctx(case: Case) -> AuthorizeContext:
    """The request as ``check_scope`` leaves it (client grant applied), then the user's permissions."""
    ctx = AuthorizeContext(rt=None, params={}, tenant={})  # type: ignore[arg-type]
    ctx.client = PARTNER if case.third_party else OURS
    ctx.api = make_api(enforce_policies=case.permissions is not None)
    ctx.redirect_uri = "https://partner.example.com/callback"
    ctx.requested = ["openid", *case.requested]
    ctx.identity_scopes = ["openid"]
    ctx.api_scopes = [s for s in case.requested if s in case.ceiling]
    if case.permissions is not None:
        ctx.limit_to_permissions(case.permissions)
    return ctx


@pytest.mark.parametrize("case", TABLE, ids=[c.id for c in TABLE])
def test_every_mint_gets_the_intersection(case: Case) -> None:
    decision = decide(_mint(case))
    assert decision.allowed, decision.reason
    assert decision.scopes == ("openid", *case.final)


@pytest.mark.parametrize("case", TABLE, ids=[c.id for c in TABLE])
def test_the_request_and_the_consent_screen_never_carry_a_lacking_scope(case: Case) -> None:
    ctx = _ctx(case)
    approved = case.consent if case.consent is not None else ALL
    code_scopes = [s for s in ctx.scopes if s == "openid" or s in approved]
    assert tuple(code_scopes) == ("openid", *case.final)
    if case.permissions is not None:
        assert not set(consent_scopes(ctx)) - case.permissions - {"openid"}
        assert set(ctx.lacking_scopes) <= set(ctx.dropped_scopes)
        decision = consent_decision(ctx, None, answered=False)
        assert not decision.missing - case.permissions - {"openid"}


def test_a_permission_taken_away_drops_its_scope_at_the_next_mint() -> None:
    case = TABLE[2]  # the user held read and write when consenting
    before = decide(_mint(case))
    after = decide(replace(_mint(case), permitted=frozenset({READ})))
    assert before.scopes == ("openid", READ, WRITE)
    assert after.allowed and after.scopes == ("openid", READ) and after.dropped == (WRITE,)


def test_every_permission_taken_away_refuses_the_mint() -> None:
    decision = decide(replace(_mint(TABLE[2]), permitted=frozenset()))
    assert not decision.allowed and "none of the granted scopes" in decision.reason


def test_rbac_on_the_api_but_no_permissions_given_to_decide_means_not_enforced() -> None:
    """``permitted`` None is "not enforced": callers read it only for APIs with ``enforce_policies``."""
    assert decide(replace(_mint(TABLE[1]), permitted=None)).scopes == ("openid", READ, WRITE)


# consent.policy.evaluate: ``lacking`` is removed from what is asked, before any other rule
BASE = ConsentInput(
    third_party=True,
    has_api=True,
    api_allows_skip=False,
    requested=frozenset({READ, WRITE}),
    granted=frozenset(),
    prompt_consent=False,
    callback_verifiable=True,
    skip_confirmation=False,
)
CONSENT_TABLE = [
    pytest.param(BASE, Prompt.CONSENT, {READ, WRITE}, id="nothing_lacking_asks_both"),
    pytest.param(replace(BASE, lacking=frozenset({WRITE})), Prompt.CONSENT, {READ}, id="lacking_write_never_asked"),
    pytest.param(
        replace(BASE, lacking=frozenset({WRITE}), granted=frozenset({READ})),
        Prompt.NONE,
        set(),
        id="grant_covers_what_the_user_may_hold",
    ),
    pytest.param(
        replace(BASE, lacking=frozenset({WRITE}), prompt_consent=True),
        Prompt.CONSENT,
        {READ},
        id="prompt_consent_still_never_asks_a_lacking_scope",
    ),
    pytest.param(
        replace(BASE, third_party=False, lacking=frozenset({READ, WRITE})),
        Prompt.NONE,
        set(),
        id="first_party_lacking_everything_has_nothing_to_ask",
    ),
    pytest.param(
        replace(BASE, third_party=False, lacking=frozenset({WRITE})),
        Prompt.CONSENT,
        {READ},
        id="first_party_api_without_skip_asks_what_remains",
    ),
]


@pytest.mark.parametrize(("inp", "prompt", "missing"), CONSENT_TABLE)
def test_consent_policy_never_asks_a_lacking_scope(inp: ConsentInput, prompt: Prompt, missing: set[str]) -> None:
    decision = evaluate(inp)
    assert decision.prompt is prompt
    assert decision.missing == missing


@pytest.mark.parametrize(
    ("scopes", "permissions", "kept", "lacking"),
    [
        ((READ, WRITE), None, [READ, WRITE], []),
        ((READ, WRITE), frozenset(), [], [READ, WRITE]),
        ((WRITE, READ, WRITE), frozenset({READ}), [READ], [WRITE]),
    ],
)
def test_within_permissions(
    scopes: tuple[str, ...], permissions: frozenset[str] | None, kept: list[str], lacking: list[str]
) -> None:
    assert within_permissions(scopes, permissions) == (kept, lacking)


@pytest.mark.parametrize(
    ("dialect", "claim"),
    [
        ("access_token", {}),
        ("rfc9068_profile", {}),
        ("access_token_authz", {"permissions": [READ]}),
        ("rfc9068_profile_authz", {"permissions": [READ]}),
    ],
)
def test_permissions_claim_lists_the_tokens_api_scopes(dialect: str, claim: dict[str, list[str]]) -> None:
    assert permissions_claim(dialect, f"openid profile {READ} offline_access") == claim
