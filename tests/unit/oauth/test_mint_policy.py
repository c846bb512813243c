"""``mint_policy.decide``: the /authorize decision made again at every code exchange, refresh and token check.

Each row changes one piece of current data after consent and says what the next mint gets (SPEC T4–T8, C1–C9).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from consentry.config_records import ConnectionInfo, RefreshPolicy
from consentry.oauth.mint_policy import MintInput, decide
from tests.unit.builders import make_api, make_client, make_grant


@dataclass(frozen=True)
class User:
    blocked: bool = False
    connection_id: str = "con_db"


DOMAIN_DB = ConnectionInfo("con_db", "Username-Password-Authentication", "auth0", True, frozenset(), {})
PARTNER = make_client(first_party=False)
OURS = make_client()
SCOPES = ("openid", "offline_access", "read:posts", "write:posts")
CONSENT = frozenset(SCOPES)


def third_party(**changes: object) -> MintInput:
    """A third-party app that consented to SCOPES, under its own client grant for read and write."""
    base = MintInput(
        client=PARTNER,
        user=User(),
        audience="https://social.example.com",
        api=make_api(),
        client_grants=(make_grant(PARTNER.client_id, ("read:posts", "write:posts")),),
        connections=(DOMAIN_DB,),
        scopes=SCOPES,
        under_consent=True,
        consent=CONSENT,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def first_party(**changes: object) -> MintInput:
    """A first-party app under the API's allow_all policy, no consent needed, enabled on a non-domain connection."""
    db = ConnectionInfo("con_db", "Username-Password-Authentication", "auth0", False, frozenset({OURS.client_id}), {})
    base = MintInput(
        client=OURS,
        user=User(),
        audience="https://social.example.com",
        api=make_api(),
        client_grants=(),
        connections=(db,),
        scopes=SCOPES,
        under_consent=False,
        consent=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


ALLOWED = [
    ("nothing changed", third_party(), SCOPES),
    (
        "T8: client grant narrowed to read",
        third_party(client_grants=(make_grant(PARTNER.client_id, ("read:posts",)),)),
        ("openid", "offline_access", "read:posts"),
    ),
    (
        "T8: own grant deleted, the default grant applies",
        third_party(client_grants=(make_grant(None, ("read:posts",), default=True),)),
        ("openid", "offline_access", "read:posts"),
    ),
    (
        "T8: own grant replaces the default, even when narrower",
        third_party(
            client_grants=(
                make_grant(None, ("read:posts", "write:posts"), default=True),
                make_grant(PARTNER.client_id, ("write:posts",)),
            )
        ),
        ("openid", "offline_access", "write:posts"),
    ),
    (
        "API scope removed from the API",
        third_party(api=make_api(("read:posts",))),
        ("openid", "offline_access", "read:posts"),
    ),
    (
        "offline access turned off on the API",
        third_party(api=make_api(allow_offline_access=False)),
        ("openid", "read:posts", "write:posts"),
    ),
    (
        "C1: third-party keeps only what the user grant covers",
        third_party(consent=frozenset({"read:posts"})),
        ("read:posts",),
    ),
    ("refresh narrowed by the client", third_party(scopes=("read:posts",)), ("read:posts",)),
    ("T7: first-party under allow_all needs no grant", first_party(), SCOPES),
    (
        "first-party under allow_all with its own grant: the grant is the ceiling",
        first_party(client_grants=(make_grant(OURS.client_id, ("read:posts",)),)),
        ("openid", "offline_access", "read:posts"),
    ),
    ("first-party with a live consent", first_party(under_consent=True, consent=frozenset({"read:posts"})), SCOPES),
    ("userinfo only (no API)", third_party(audience=None, api=None, scopes=("openid",)), ("openid",)),
    ("no scopes at all, first-party", first_party(scopes=()), ()),
]

REFUSED = [
    ("the app was deleted", third_party(client=None), "the application no longer exists"),
    ("the app is pending", third_party(client=replace(PARTNER, status="pending")), "no longer exists"),
    ("the user was deleted", third_party(user=None), "the user no longer exists"),
    ("the user is blocked", third_party(user=User(blocked=True)), "the user is blocked"),
    (
        "T6: connection demoted from domain level",
        third_party(connections=(replace(DOMAIN_DB, is_domain_connection=False),)),
        "connection",
    ),
    (
        "connection disabled for a first-party app",
        first_party(connections=(ConnectionInfo("con_db", "db", "auth0", False, frozenset(), {}),)),
        "connection",
    ),
    ("C8: the user revoked consent", third_party(consent=None), "consent was revoked"),
    ("C8: first-party consent revoked", first_party(under_consent=True, consent=None), "consent was revoked"),
    ("T5: third-party without any consent", third_party(under_consent=False, consent=None), "consent"),
    ("issue 21: the chosen duration ran out", third_party(consent=None, consent_expired=True), "has expired"),
    (
        "issue 21: first-party grant expired",
        first_party(under_consent=True, consent=None, consent_expired=True),
        "has expired",
    ),
    ("T7: the only client grant deleted", third_party(client_grants=()), "no client grant"),
    (
        "T7: a client-subject grant does not count for users",
        third_party(client_grants=(make_grant(PARTNER.client_id, ("read:posts",), subject_type="client"),)),
        "no client grant",
    ),
    ("the API is deny_all", third_party(api=make_api(user_policy="deny_all")), "denied by its policy"),
    ("first-party and deny_all", first_party(api=make_api(user_policy="deny_all")), "denied by its policy"),
    ("the API was deleted", third_party(api=None), "the API no longer exists"),
    ("T4: the API became the Management API", third_party(api=make_api(is_system=True)), "cannot access"),
    (
        "client grant narrowed to nothing",
        third_party(client_grants=(make_grant(PARTNER.client_id, ()),)),
        "none of the granted scopes",
    ),
    (
        "every API scope outside the ceiling",
        third_party(client_grants=(make_grant(PARTNER.client_id, ("other",)),)),
        "none of the granted scopes",
    ),
]


@pytest.mark.parametrize(("case", "inp", "scopes"), ALLOWED, ids=[c[0] for c in ALLOWED])
def test_allowed(case: str, inp: MintInput, scopes: tuple[str, ...]) -> None:
    decision = decide(inp)
    assert decision.allowed, decision.reason
    assert decision.scopes == scopes
    assert set(decision.dropped) == set(inp.scopes) - set(scopes)


@pytest.mark.parametrize(("case", "inp", "reason"), REFUSED, ids=[c[0] for c in REFUSED])
def test_refused(case: str, inp: MintInput, reason: str) -> None:
    decision = decide(inp)
    assert not decision.allowed and decision.scopes == ()
    assert reason in decision.reason


POLICIES = [
    ("defaults: the server's absolute lifetime, no idle limit", RefreshPolicy(), 2592000, None),
    (
        "Auth0's stored echo defaults",
        RefreshPolicy.from_settings(
            {
                "rotation_type": "rotating",
                "expiration_type": "expiring",
                "leeway": 0,
                "token_lifetime": 2592000,
                "infinite_token_lifetime": False,
                "idle_token_lifetime": 1296000,
                "infinite_idle_token_lifetime": True,
            }
        ),
        2592000,
        None,
    ),
    ("own absolute lifetime", RefreshPolicy(token_lifetime=1000), 1000, None),
    ("infinite absolute", RefreshPolicy(token_lifetime=1000, infinite_token_lifetime=True), None, None),
    ("idle lifetime", RefreshPolicy(idle_token_lifetime=60, infinite_idle_token_lifetime=False), 2592000, 60),
    (
        "non-expiring ignores both",
        RefreshPolicy(
            expiration_type="non-expiring", token_lifetime=5, idle_token_lifetime=5, infinite_idle_token_lifetime=False
        ),
        None,
        None,
    ),
    (
        "junk stored values fall back",
        RefreshPolicy.from_settings({"token_lifetime": "x", "leeway": -3, "idle_token_lifetime": True}),
        2592000,
        None,
    ),
]


@pytest.mark.parametrize(("case", "policy", "absolute", "idle"), POLICIES, ids=[c[0] for c in POLICIES])
def test_refresh_policy(case: str, policy: RefreshPolicy, absolute: int | None, idle: int | None) -> None:
    assert policy.absolute_lifetime(2592000) == absolute
    assert policy.idle_lifetime() == idle
    assert policy.leeway >= 0
