"""Client configuration rules: types and grant types (SPEC T2, T3, T4). One row per rule."""

from __future__ import annotations

import pytest

from consentry.oauth.client_rules import (
    PASSWORD_REALM,
    default_auth_method,
    default_grant_types,
    grant_type_refusal,
    grant_types_problem,
    refused_authorize_parameters,
    third_party_settings_problem,
)

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
AC, RT, CC = "authorization_code", "refresh_token", "client_credentials"


@pytest.mark.parametrize(
    ("app_type", "method"),
    [
        pytest.param("spa", "none", id="T2_spa_is_public"),
        pytest.param("native", "none", id="T2_native_is_public"),
        pytest.param("regular_web", "client_secret_post", id="T2_regular_web_is_confidential"),
        pytest.param("non_interactive", "client_secret_post", id="T2_m2m_is_confidential"),
        pytest.param(None, "client_secret_post", id="T2_unset_is_confidential"),
    ],
)
def test_T2_default_auth_method(app_type: str | None, method: str) -> None:
    assert default_auth_method(app_type) == method


@pytest.mark.parametrize(
    ("app_type", "third_party", "public", "expected"),
    [
        pytest.param("regular_web", True, False, [AC, RT], id="T3_third_party_confidential_default"),
        pytest.param("spa", True, True, [AC, RT], id="T3_third_party_spa_default"),
        pytest.param("native", True, True, [AC, RT], id="T3_third_party_native_default"),
        pytest.param("non_interactive", True, False, [AC, RT], id="T3_third_party_never_defaults_to_cc"),
        pytest.param("regular_web", False, False, [AC, RT, CC], id="T3_first_party_confidential_default"),
        pytest.param("spa", False, True, [AC, RT], id="T3_first_party_public_no_cc"),
        pytest.param("non_interactive", False, False, [CC], id="T3_first_party_m2m_default"),
    ],
)
def test_T3_default_grant_types(app_type: str, third_party: bool, public: bool, expected: list[str]) -> None:
    grants = default_grant_types(app_type, third_party=third_party, public=public)
    assert grants == expected
    assert grant_types_problem(grants, third_party=third_party, public=public) is None


THIRD_PARTY_REFUSED = "is not allowed for third-party applications."
CC_PUBLIC = "Grant type 'client_credentials' requires a confidential client (token_endpoint_auth_method is none)."

PROBLEMS = [
    # T3: allowed combinations
    pytest.param([AC], True, False, None, id="T3_third_party_code_only"),
    pytest.param([AC, RT], True, True, None, id="T3_third_party_public_code_refresh"),
    pytest.param([AC, RT, CC], True, False, None, id="T3_third_party_confidential_may_use_cc"),
    pytest.param([], True, False, None, id="T3_no_grant_types"),
    pytest.param(
        [AC, RT, CC, "password", PASSWORD_REALM, "implicit"],
        False,
        False,
        None,
        id="T3_first_party_may_use_first_party_grants",
    ),
    # T3/T4: first-party features refused for third-party apps
    pytest.param(
        [AC, "password"],
        True,
        False,
        f"Grant type 'password' {THIRD_PARTY_REFUSED}",
        id="T4_third_party_password_refused",
    ),
    pytest.param(
        [PASSWORD_REALM],
        True,
        False,
        f"Grant type '{PASSWORD_REALM}' {THIRD_PARTY_REFUSED}",
        id="T4_third_party_password_realm_refused",
    ),
    pytest.param(
        ["implicit"], True, True, f"Grant type 'implicit' {THIRD_PARTY_REFUSED}", id="T3_third_party_implicit_refused"
    ),
    pytest.param(
        [DEVICE_CODE],
        True,
        True,
        f"Grant type '{DEVICE_CODE}' {THIRD_PARTY_REFUSED}",
        id="T3_third_party_device_code_refused",
    ),
    pytest.param(
        [AC, "implicit", "password"],
        True,
        False,
        f"Grant type 'implicit' {THIRD_PARTY_REFUSED}",
        id="T3_first_refused_grant_named",
    ),
    # T2: public clients never use client_credentials
    pytest.param([AC, CC], True, True, CC_PUBLIC, id="T2_third_party_public_cc_refused"),
    pytest.param([CC], False, True, CC_PUBLIC, id="T2_first_party_public_cc_refused"),
    # unknown and duplicate grant types
    pytest.param(
        ["magic"],
        False,
        False,
        "Grant type 'magic' is not allowed for applications.",
        id="T3_unknown_grant_refused_for_first_party",
    ),
    pytest.param(
        [DEVICE_CODE],
        False,
        False,
        f"Grant type '{DEVICE_CODE}' is not allowed for applications.",
        id="T3_device_code_not_supported_yet",
    ),
    pytest.param([AC, AC], True, False, "grant_types contains duplicates.", id="T3_duplicates_refused"),
    pytest.param(
        ["Authorization_Code"],
        True,
        False,
        f"Grant type 'Authorization_Code' {THIRD_PARTY_REFUSED}",
        id="T3_grant_types_are_case_sensitive",
    ),
]


@pytest.mark.parametrize(("grant_types", "third_party", "public", "problem"), PROBLEMS)
def test_T3_grant_types_problem(grant_types: list[str], third_party: bool, public: bool, problem: str | None) -> None:
    assert grant_types_problem(grant_types, third_party=third_party, public=public) == problem


def test_T3_grant_types_problem_accepts_tuples() -> None:
    assert grant_types_problem((AC, RT), third_party=True, public=True) is None


@pytest.mark.parametrize(
    ("params", "third_party", "refused"),
    [
        ({"client_id": "a", "scope": "read:posts"}, True, []),
        ({"screen_hint": "signup"}, True, ["screen_hint"]),
        ({"request_uri": "urn:x", "claims": "{}"}, True, ["claims", "request_uri"]),
        ({"screen_hint": "signup", "id_token_hint": "x"}, False, []),
    ],
)
def test_refused_authorize_parameters(params: dict[str, str], third_party: bool, refused: list[str]) -> None:
    assert refused_authorize_parameters(params, third_party=third_party) == refused


@pytest.mark.parametrize(
    ("grant_type", "grant_types", "registration_type", "refused"),
    [
        ("client_credentials", ["client_credentials"], "admin", False),
        ("client_credentials", ["client_credentials"], "dcr", True),
        ("client_credentials", ["client_credentials"], "cimd", True),
        ("authorization_code", ["authorization_code"], "dcr", False),
        ("refresh_token", ["authorization_code"], "admin", True),
    ],
)
def test_grant_type_refusal(grant_type: str, grant_types: list[str], registration_type: str, refused: bool) -> None:
    assert (grant_type_refusal(grant_type, grant_types, registration_type) is not None) is refused


@pytest.mark.parametrize("registration_type", ["dcr", "cimd"])
def test_self_registered_clients_cannot_store_client_credentials(registration_type: str) -> None:
    problem = grant_types_problem(
        ["client_credentials"], third_party=True, public=False, registration_type=registration_type
    )
    assert problem == "Grant type 'client_credentials' is not allowed for dynamically registered applications."


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"name": "P", "callbacks": [], "refresh_token": {"rotation_type": "rotating"}}, None),
        ({"sso": True, "addons": {}}, "Property 'addons' cannot be set on third-party applications."),
        ({"client_id": "x"}, "Property 'client_id' cannot be set on third-party applications."),
        ({"jwt_configuration": {"alg": "HS256"}}, "jwt_configuration.alg must be RS256 for third-party applications."),
        ({"jwt_configuration": {"lifetime_in_seconds": 60}}, None),
        (
            {"refresh_token": {"expiration_type": "non-expiring"}},
            "Refresh tokens of third-party applications must expire (expiration_type 'expiring').",
        ),
        (
            {"refresh_token": {"rotation_type": "non-rotating"}},
            "Refresh tokens of third-party applications always rotate (rotation_type 'rotating').",
        ),
    ],
)
def test_third_party_settings_problem(data: dict[str, object], problem: str | None) -> None:
    assert third_party_settings_problem(data) == problem
