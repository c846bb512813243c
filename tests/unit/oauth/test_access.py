"""Which application may call which API with which scopes (SPEC T4, T7, T8). One row per rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.config_records import ClientGrantInfo
from consentry.oauth.access import CLIENT, USER, api_access, effective_client_grant, split_scopes
from tests.unit.builders import POSTS_API_SCOPES, make_api, make_client, make_grant

PROPERTY = settings(database=None, deadline=None, max_examples=300)

FIRST = make_client(first_party=True)
THIRD = make_client(first_party=False)
OTHER_THIRD = make_client(first_party=False, client_id="tpc_other")
ALL = frozenset(POSTS_API_SCOPES)

OWN_FIRST = make_grant(FIRST.client_id, ("read:posts",))
OWN_THIRD = make_grant(THIRD.client_id, ("read:posts",))
OWN_THIRD_CLIENT = make_grant(THIRD.client_id, ("read:comments",), subject_type=CLIENT)
DEFAULT = make_grant(None, ("read:posts", "write:posts"), default=True)
DEFAULT_CLIENT = make_grant(None, ("read:posts",), default=True, subject_type=CLIENT)
OTHER_OWN = make_grant(OTHER_THIRD.client_id, ("delete:posts",))

# (client, user policy, client policy, grants, subject type, allowed, ceiling, governing grant id)
TABLE = [
    # T7: first-party apps follow the API's policy
    pytest.param(
        FIRST,
        "allow_all",
        "require_client_grant",
        [],
        USER,
        True,
        ALL,
        None,
        id="T7_first_party_allow_all_without_grant_gets_all_api_scopes",
    ),
    pytest.param(
        FIRST,
        "require_client_grant",
        "require_client_grant",
        [],
        USER,
        False,
        frozenset(),
        None,
        id="T7_first_party_require_client_grant_without_grant_is_denied",
    ),
    pytest.param(
        FIRST,
        "require_client_grant",
        "require_client_grant",
        [OWN_FIRST],
        USER,
        True,
        frozenset({"read:posts"}),
        OWN_FIRST.id,
        id="T7_first_party_require_client_grant_with_grant",
    ),
    pytest.param(
        FIRST,
        "deny_all",
        "require_client_grant",
        [OWN_FIRST],
        USER,
        False,
        frozenset(),
        None,
        id="T7_deny_all_denies_first_party_even_with_grant",
    ),
    # T7: third-party apps always need a user client grant
    pytest.param(
        THIRD,
        "allow_all",
        "require_client_grant",
        [],
        USER,
        False,
        frozenset(),
        None,
        id="T7_third_party_ignores_allow_all_and_needs_a_grant",
    ),
    pytest.param(
        THIRD,
        "allow_all",
        "require_client_grant",
        [OWN_THIRD],
        USER,
        True,
        frozenset({"read:posts"}),
        OWN_THIRD.id,
        id="T7_third_party_own_grant_under_allow_all",
    ),
    pytest.param(
        THIRD,
        "require_client_grant",
        "require_client_grant",
        [OWN_THIRD],
        USER,
        True,
        frozenset({"read:posts"}),
        OWN_THIRD.id,
        id="T7_third_party_own_grant_under_require_client_grant",
    ),
    pytest.param(
        THIRD,
        "deny_all",
        "require_client_grant",
        [OWN_THIRD, DEFAULT],
        USER,
        False,
        frozenset(),
        None,
        id="T7_deny_all_denies_third_party_even_with_grants",
    ),
    # T7: subject types are separate
    pytest.param(
        THIRD,
        "allow_all",
        "require_client_grant",
        [OWN_THIRD_CLIENT],
        USER,
        False,
        frozenset(),
        None,
        id="T7_client_subject_grant_does_not_cover_user_flows",
    ),
    pytest.param(
        THIRD,
        "allow_all",
        "require_client_grant",
        [OWN_THIRD],
        CLIENT,
        False,
        frozenset(),
        None,
        id="T7_user_subject_grant_does_not_cover_client_flows",
    ),
    pytest.param(
        THIRD,
        "allow_all",
        "require_client_grant",
        [OWN_THIRD, OWN_THIRD_CLIENT],
        CLIENT,
        True,
        frozenset({"read:comments"}),
        OWN_THIRD_CLIENT.id,
        id="T7_client_flow_uses_client_subject_grant",
    ),
    pytest.param(
        FIRST,
        "allow_all",
        "require_client_grant",
        [],
        CLIENT,
        False,
        frozenset(),
        None,
        id="T7_client_flow_follows_client_policy_not_user_policy",
    ),
    pytest.param(
        FIRST,
        "allow_all",
        "deny_all",
        [make_grant(FIRST.client_id, ("read:posts",), subject_type=CLIENT)],
        CLIENT,
        False,
        frozenset(),
        None,
        id="T7_client_deny_all_denies_client_flows",
    ),
    pytest.param(
        FIRST,
        "deny_all",
        "require_client_grant",
        [make_grant(FIRST.client_id, ("read:posts",), subject_type=CLIENT)],
        CLIENT,
        True,
        frozenset({"read:posts"}),
        f"cgr_{FIRST.client_id}_client",
        id="T7_user_deny_all_leaves_client_flows",
    ),
    # T8: the default grant for third-party apps
    pytest.param(
        THIRD,
        "require_client_grant",
        "require_client_grant",
        [DEFAULT],
        USER,
        True,
        frozenset({"read:posts", "write:posts"}),
        DEFAULT.id,
        id="T8_default_grant_applies_to_third_party",
    ),
    pytest.param(
        THIRD,
        "allow_all",
        "require_client_grant",
        [DEFAULT],
        USER,
        True,
        frozenset({"read:posts", "write:posts"}),
        DEFAULT.id,
        id="T8_default_grant_under_allow_all",
    ),
    pytest.param(
        FIRST,
        "require_client_grant",
        "require_client_grant",
        [DEFAULT],
        USER,
        False,
        frozenset(),
        None,
        id="T8_default_grant_never_applies_to_first_party",
    ),
    pytest.param(
        THIRD,
        "require_client_grant",
        "require_client_grant",
        [DEFAULT, OWN_THIRD],
        USER,
        True,
        frozenset({"read:posts"}),
        OWN_THIRD.id,
        id="T8_own_grant_replaces_default_not_adds",
    ),
    pytest.param(
        THIRD,
        "require_client_grant",
        "require_client_grant",
        [OWN_THIRD, DEFAULT],
        USER,
        True,
        frozenset({"read:posts"}),
        OWN_THIRD.id,
        id="T8_own_grant_wins_whatever_the_order",
    ),
    pytest.param(
        THIRD,
        "require_client_grant",
        "require_client_grant",
        [OTHER_OWN, DEFAULT],
        USER,
        True,
        frozenset({"read:posts", "write:posts"}),
        DEFAULT.id,
        id="T8_another_apps_grant_is_ignored",
    ),
    pytest.param(
        THIRD,
        "require_client_grant",
        "require_client_grant",
        [OTHER_OWN],
        USER,
        False,
        frozenset(),
        None,
        id="T8_another_apps_grant_alone_is_no_grant",
    ),
    pytest.param(
        THIRD,
        "require_client_grant",
        "require_client_grant",
        [DEFAULT_CLIENT],
        USER,
        False,
        frozenset(),
        None,
        id="T8_client_subject_default_does_not_cover_user_flows",
    ),
    pytest.param(
        THIRD,
        "require_client_grant",
        "require_client_grant",
        [DEFAULT_CLIENT],
        CLIENT,
        True,
        frozenset({"read:posts"}),
        DEFAULT_CLIENT.id,
        id="T8_client_subject_default_covers_client_flows",
    ),
    # T7: the ceiling
    pytest.param(
        THIRD,
        "require_client_grant",
        "require_client_grant",
        [make_grant(THIRD.client_id, allow_all_scopes=True)],
        USER,
        True,
        ALL,
        f"cgr_{THIRD.client_id}_user",
        id="T7_allow_all_scopes_is_every_api_scope",
    ),
    pytest.param(
        THIRD,
        "require_client_grant",
        "require_client_grant",
        [make_grant(THIRD.client_id, ("read:posts", "admin:everything", "offline_access"))],
        USER,
        True,
        frozenset({"read:posts"}),
        f"cgr_{THIRD.client_id}_user",
        id="T7_ceiling_intersects_with_api_scopes",
    ),
    pytest.param(
        THIRD,
        "require_client_grant",
        "require_client_grant",
        [make_grant(THIRD.client_id, ())],
        USER,
        True,
        frozenset(),
        f"cgr_{THIRD.client_id}_user",
        id="T7_empty_grant_allows_with_empty_ceiling",
    ),
    pytest.param(
        FIRST,
        "allow_all",
        "require_client_grant",
        [OWN_FIRST],
        USER,
        True,
        frozenset({"read:posts"}),
        OWN_FIRST.id,
        id="T7_first_party_allow_all_own_grant_still_a_ceiling",
    ),
]


@pytest.mark.parametrize(
    ("client", "user_policy", "client_policy", "grants", "subject_type", "allowed", "ceiling", "grant_id"), TABLE
)
def test_api_access(client, user_policy, client_policy, grants, subject_type, allowed, ceiling, grant_id) -> None:
    api = make_api(user_policy=user_policy, client_policy=client_policy)
    access = api_access(client, api, grants, subject_type)
    assert (access.allowed, access.ceiling, access.grant_id) == (allowed, ceiling, grant_id)
    assert access.reason


REASONS = [
    pytest.param(THIRD, "allow_all", [], "the application has no client grant for Social API", id="T7_no_grant"),
    pytest.param(THIRD, "deny_all", [OWN_THIRD], "access to Social API is denied by its policy", id="T7_deny_all"),
    pytest.param(FIRST, "allow_all", [], "allowed by the API policy", id="T7_policy"),
    pytest.param(THIRD, "allow_all", [OWN_THIRD], "allowed by a client grant", id="T7_grant"),
]


@pytest.mark.parametrize(("client", "user_policy", "grants", "reason"), REASONS)
def test_T7_reason_names_the_api(client, user_policy, grants, reason) -> None:
    access = api_access(client, make_api(user_policy=user_policy), grants, USER)
    assert access.reason == reason


# --- T4: the system (Management) API ------------------------------------------------------------------------------

MGMT = make_api(("read:users", "create:clients"), name="Auth0 Management API", is_system=True, user_policy="allow_all")

SYSTEM = [
    pytest.param(THIRD, [make_grant(THIRD.client_id, allow_all_scopes=True)], USER, id="T4_third_party_own_user_grant"),
    pytest.param(
        THIRD,
        [make_grant(THIRD.client_id, allow_all_scopes=True, subject_type=CLIENT)],
        CLIENT,
        id="T4_third_party_own_client_grant",
    ),
    pytest.param(THIRD, [make_grant(None, allow_all_scopes=True, default=True)], USER, id="T4_third_party_default"),
    pytest.param(THIRD, [], USER, id="T4_third_party_allow_all_policy"),
]


@pytest.mark.parametrize(("client", "grants", "subject_type"), SYSTEM)
def test_T4_third_party_never_reaches_the_system_api(client, grants, subject_type) -> None:
    access = api_access(client, MGMT, grants, subject_type)
    assert (access.allowed, access.ceiling) == (False, frozenset())
    assert access.reason == "third-party applications cannot access Auth0 Management API"


def test_T4_first_party_reaches_the_system_api_with_a_client_grant() -> None:
    grant = make_grant(FIRST.client_id, ("read:users",), subject_type=CLIENT)
    access = api_access(FIRST, MGMT, [grant], CLIENT)
    assert (access.allowed, access.ceiling) == (True, frozenset({"read:users"}))


def test_T8_effective_client_grant_none_without_grants() -> None:
    assert effective_client_grant(THIRD, [], USER) is None


# --- split_scopes -------------------------------------------------------------------------------------------------

SPLIT = [
    pytest.param("read:posts write:posts", {"read:posts"}, ["read:posts"], ["write:posts"], id="T7_drops_outside"),
    pytest.param("write:posts read:posts write:posts", ALL, ["write:posts", "read:posts"], [], id="T7_keeps_order"),
    pytest.param("a b a c b", {"b"}, ["b"], ["a", "c"], id="T7_dropped_keep_order_without_duplicates"),
    pytest.param("", ALL, [], [], id="T7_nothing_requested"),
    pytest.param("read:posts", frozenset(), [], ["read:posts"], id="T7_empty_ceiling_drops_all"),
]


@pytest.mark.parametrize(("requested", "ceiling", "kept", "dropped"), SPLIT)
def test_T7_split_scopes(requested: str, ceiling: set[str], kept: list[str], dropped: list[str]) -> None:
    assert split_scopes(requested.split(), frozenset(ceiling)) == (kept, dropped)


# --- properties ---------------------------------------------------------------------------------------------------

_scope = st.sampled_from([*POSTS_API_SCOPES, "admin:all", "offline_access", "openid"])
_policy_user = st.sampled_from(["allow_all", "require_client_grant", "deny_all"])
_policy_client = st.sampled_from(["require_client_grant", "deny_all"])
_subject = st.sampled_from([USER, CLIENT])


@st.composite
def _grants(draw: st.DrawFn) -> list[ClientGrantInfo]:
    out = []
    for i in range(draw(st.integers(0, 4))):
        owner = draw(st.sampled_from([FIRST.client_id, THIRD.client_id, OTHER_THIRD.client_id, None]))
        out.append(
            make_grant(
                owner,
                tuple(draw(st.lists(_scope, max_size=5))),
                subject_type=draw(_subject),
                allow_all_scopes=draw(st.booleans()),
                default=owner is None,
                grant_id=f"cgr_{i}",
            )
        )
    return out


@PROPERTY
@given(
    client=st.sampled_from([FIRST, THIRD]),
    user_policy=_policy_user,
    client_policy=_policy_client,
    grants=_grants(),
    subject_type=_subject,
    system=st.booleans(),
)
def test_T7_property_ceiling_within_api_scopes(
    client, user_policy, client_policy, grants, subject_type, system
) -> None:
    api = make_api(user_policy=user_policy, client_policy=client_policy, is_system=system)
    access = api_access(client, api, grants, subject_type)
    assert access.ceiling <= api.scope_values
    if not access.allowed:
        assert access.ceiling == frozenset() and access.grant_id is None
    if system and client.is_third_party:
        assert not access.allowed


@PROPERTY
@given(user_policy=_policy_user, client_policy=_policy_client, grants=_grants(), subject_type=_subject)
def test_T7_property_third_party_without_any_grant_is_never_allowed(
    user_policy, client_policy, grants, subject_type
) -> None:
    applicable = [g for g in grants if g.subject_type == subject_type and g.client_id in (THIRD.client_id, None)]
    access = api_access(THIRD, make_api(user_policy=user_policy, client_policy=client_policy), grants, subject_type)
    if not applicable:
        assert not access.allowed
    if access.allowed:
        assert access.grant_id in {g.id for g in applicable}


@PROPERTY
@given(grants=_grants(), own_scopes=st.lists(_scope, max_size=5), client=st.sampled_from([FIRST, THIRD]))
def test_T8_property_per_client_grant_wins_whenever_present(grants, own_scopes, client) -> None:
    own = make_grant(client.client_id, tuple(own_scopes), grant_id="cgr_own")
    others = [g for g in grants if g.client_id != client.client_id]
    api = make_api(user_policy="require_client_grant")
    for position in range(len(others) + 1):
        access = api_access(client, api, [*others[:position], own, *others[position:]], USER)
        assert access.allowed and access.grant_id == "cgr_own"
        assert access.ceiling == frozenset(own_scopes) & api.scope_values


@PROPERTY
@given(requested=st.lists(_scope, max_size=10), ceiling=st.frozensets(_scope))
def test_T7_property_split_partitions_the_request(requested: list[str], ceiling: frozenset[str]) -> None:
    kept, dropped = split_scopes(requested, ceiling)
    assert kept == sorted(kept, key=requested.index) and dropped == sorted(dropped, key=requested.index)
    assert set(kept) == set(requested) & ceiling and set(dropped) == set(requested) - ceiling
    assert len(kept + dropped) == len(set(requested))
