"""``federation.id_jag``: the header and claim rules of the ID-JAG draft, one row each (pure, ``now`` injected)."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from consentry.federation.id_jag import AssertionInvalid, JagExpected, unverified, validate

NOW = 1_800_000_000
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWKS = {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "k1"}]}
EXPECTED = JagExpected("https://idp.example", "https://as.example/", "agent", ("RS256",), NOW)


def _jag(typ: str = "oauth-id-jag+jwt", **claims: Any) -> str:
    body = {
        "iss": "https://idp.example",
        "aud": "https://as.example/",
        "client_id": "agent",
        "sub": "u1",
        "jti": "j1",
        "iat": NOW - 5,
        "exp": NOW + 120,
        **claims,
    }
    return jwt.encode(
        {k: v for k, v in body.items() if v is not None}, KEY, algorithm="RS256", headers={"kid": "k1", "typ": typ}
    )


def _check(token: str) -> dict[str, Any]:
    header, _ = unverified(token)
    return validate(token, header, JWKS, EXPECTED)


def test_a_valid_id_jag_passes() -> None:
    assert _check(_jag())["sub"] == "u1"
    assert _check(_jag(typ="OAUTH-ID-JAG+JWT"))["sub"] == "u1", "media types compare case-insensitively"


ROWS = [
    ("typ", lambda: _jag(typ="JWT"), "typ"),
    ("iss", lambda: _jag(iss="https://other.example"), "iss"),
    ("aud", lambda: _jag(aud="https://other-as.example/"), "aud"),
    ("client_id", lambda: _jag(client_id="other"), "client_id"),
    ("sub", lambda: _jag(sub=None), "sub"),
    ("jti", lambda: _jag(jti=None), "jti"),
    ("exp_missing", lambda: _jag(exp=None), "exp"),
    ("expired", lambda: _jag(iat=NOW - 200, exp=NOW - 31), "expired"),
    ("iat_future", lambda: _jag(iat=NOW + 31, exp=NOW + 100), "iat"),
    ("too_long", lambda: _jag(exp=NOW + 301), "longer"),
    ("signature", lambda: _jag()[:-4] + "AAAA", "signature"),
    ("not_a_jwt", lambda: "x.y", "not a signed JWT"),
]


@pytest.mark.parametrize(("case", "make", "reason"), ROWS, ids=[r[0] for r in ROWS])
def test_each_rule_refuses(case: str, make: Any, reason: str) -> None:
    with pytest.raises(AssertionInvalid) as info:
        _check(make())
    assert reason in info.value.reason, (case, info.value.reason)
