"""``tokens.id_jag.claims``: what an ID-JAG this server issues carries (draft §3.1), one row per optional claim."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from consentry.federation.id_jag import MAX_LIFETIME, JagExpected, check_claims
from consentry.tokens.id_jag import LIFETIME, JagContent, claims

NOW = 1_800_000_000.7
BASE = JagContent(
    issuer="https://idp.example/",
    sub="auth0|u1",
    audience="https://saas.example/",
    client_id="agent-at-saas",
    scopes=(),
    resource="",
    auth_time=None,
    amr=(),
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, {}),
        ({"scopes": ("read:notes", "write:notes")}, {"scope": "read:notes write:notes"}),
        ({"resource": "https://saas.example/mcp"}, {"resource": "https://saas.example/mcp"}),
        ({"auth_time": 1_799_999_000}, {"auth_time": 1_799_999_000}),
        ({"amr": ("pwd", "mfa")}, {"amr": ["pwd", "mfa"]}),
    ],
)
def test_claims(change: dict[str, Any], expected: dict[str, Any]) -> None:
    body = claims(replace(BASE, **change), NOW, "jti-1")
    required = {
        "iss": "https://idp.example/",
        "sub": "auth0|u1",
        "aud": "https://saas.example/",
        "client_id": "agent-at-saas",
        "jti": "jti-1",
        "iat": int(NOW),
        "exp": int(NOW) + LIFETIME,
    }
    assert body == {**required, **expected}


def test_the_resource_side_accepts_what_the_idp_issues() -> None:
    """Our own issuing lifetime fits our own redeeming rules (a short ``exp``)."""
    assert LIFETIME <= MAX_LIFETIME
    body = claims(BASE, NOW, "jti-1")
    check_claims(body, JagExpected(BASE.issuer, BASE.audience, BASE.client_id, ("RS256",), NOW))
