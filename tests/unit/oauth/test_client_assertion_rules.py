"""``client_assertion_rules.claims_problem``: one row per rule of RFC 7523 §3 (and OIDC Core §9's jti)."""

from __future__ import annotations

from typing import Any

import pytest

from consentry.oauth.client_assertion_rules import Expected, claims_problem

NOW = 1_800_000_000.0
EXPECTED = Expected(
    client_id="app", audiences=("https://id.example.com/", "https://id.example.com/oauth/token"), now=NOW
)
GOOD: dict[str, Any] = {
    "iss": "app",
    "sub": "app",
    "aud": "https://id.example.com/oauth/token",
    "exp": NOW + 60,
    "jti": "j-1",
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({}, None),
        ({"aud": "https://id.example.com/"}, None),  # the issuer
        ({"aud": ["https://other.example.com", "https://id.example.com/"]}, None),  # one of several
        ({"iat": NOW, "nbf": NOW - 10}, None),
        ({"exp": NOW - 10}, None),  # within the leeway
        ({"iss": "other"}, "iss must be the client_id"),
        ({"iss": None}, "iss must be the client_id"),
        ({"sub": "other"}, "sub must be the client_id"),
        ({"aud": "https://id.example.com/oauth/revoke"}, "aud must be"),
        ({"aud": None}, "aud must be"),
        ({"aud": [1, 2]}, "aud must be"),
        ({"exp": None}, "no numeric exp"),
        ({"exp": "soon"}, "no numeric exp"),
        ({"exp": True}, "no numeric exp"),
        ({"exp": NOW - 31}, "expired"),
        ({"exp": NOW + 3700}, "more than 3600 seconds away"),
        ({"nbf": NOW + 60}, "not valid yet"),
        ({"iat": NOW + 60}, "iat is in the future"),
        ({"jti": None}, "no usable jti"),
        ({"jti": ""}, "no usable jti"),
        ({"jti": "x" * 201}, "no usable jti"),
    ],
)
def test_claims_problem(change: dict[str, Any], problem: str | None) -> None:
    claims = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    found = claims_problem(claims, EXPECTED)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
