"""``federation.id_token.validate``: one row per check of OpenID Connect Core §3.1.3.7 (pure, ``now`` injected)."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from consentry.federation.id_token import Expected, IdTokenInvalid, UnknownKey, validate

NOW = 1_800_000_000.0
ISS, AUD, NONCE = "https://idp.example", "rp", "n-123"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _jwks() -> dict[str, Any]:
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key()))
    enc = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(OTHER_RSA.public_key()))
    return {
        "keys": [{**rsa_jwk, "kid": "r1", "use": "sig"}, {**ec_jwk, "kid": "e1"}, {**enc, "kid": "r1", "use": "enc"}]
    }


JWKS = _jwks()


def _token(key: Any = RSA_KEY, alg: str = "RS256", kid: str | None = "r1", **claims: Any) -> str:
    body = {"iss": ISS, "aud": AUD, "sub": "u1", "nonce": NONCE, "iat": NOW - 10, "exp": NOW + 300, **claims}
    return jwt.encode(
        {k: v for k, v in body.items() if v is not None}, key, algorithm=alg, headers={"kid": kid} if kid else {}
    )


def _expected(**kw: Any) -> Expected:
    return Expected(**{"issuer": ISS, "client_id": AUD, "nonce": NONCE, "algs": ("RS256", "ES256"), "now": NOW, **kw})


def test_a_valid_token_passes() -> None:
    assert validate(_token(), JWKS, _expected())["sub"] == "u1"
    assert validate(_token(EC_KEY, "ES256", "e1"), JWKS, _expected())["sub"] == "u1"
    assert validate(_token(kid=None), JWKS, _expected())["sub"] == "u1", "no kid: every signing key is tried"
    assert validate(_token(aud=[AUD, "x"], azp=AUD), JWKS, _expected())["sub"] == "u1"
    assert validate(_token(exp=NOW - 30), JWKS, _expected())["sub"] == "u1", "within the leeway"


REFUSED = [
    ("iss", lambda: _token(iss="https://other.example"), "iss"),
    ("aud", lambda: _token(aud="other"), "aud"),
    ("aud_list_without_us", lambda: _token(aud=["a", "b"]), "aud"),
    ("azp_missing_with_two_audiences", lambda: _token(aud=[AUD, "x"]), "azp"),
    ("azp_other", lambda: _token(azp="x"), "azp"),
    ("expired", lambda: _token(exp=NOW - 61), "expired"),
    ("exp_missing", lambda: _token(exp=None), "exp"),
    ("exp_not_a_number", lambda: _token(exp="soon"), "exp"),
    ("iat_future", lambda: _token(iat=NOW + 61), "iat"),
    ("iat_missing", lambda: _token(iat=None), "iat"),
    ("nonce_other", lambda: _token(nonce="n-999"), "nonce"),
    ("nonce_missing", lambda: _token(nonce=None), "nonce"),
    ("sub_missing", lambda: _token(sub=None), "sub"),
    ("sub_empty", lambda: _token(sub=""), "sub"),
    ("forged_signature", lambda: _token(OTHER_RSA), "signature"),
    ("hmac", lambda: _token("k" * 32, "HS256"), "alg"),
    ("none", lambda: jwt.encode({"iss": ISS}, None, algorithm="none"), "alg"),
    ("alg_not_configured", lambda: _token(alg="RS512"), "alg"),
    ("not_a_jwt", lambda: "abc.def", "not a signed JWT"),
]


@pytest.mark.parametrize(("case", "make", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_each_check_refuses(case: str, make: Any, reason: str) -> None:
    with pytest.raises(IdTokenInvalid) as info:
        validate(make(), JWKS, _expected())
    assert reason in info.value.reason, (case, info.value.reason)


def test_an_unknown_kid_asks_for_a_fresh_jwks() -> None:
    with pytest.raises(UnknownKey):
        validate(_token(kid="r2"), JWKS, _expected())
    with pytest.raises(UnknownKey, match="kid"):  # a key of the wrong type, or for encryption, never matches
        validate(_token(EC_KEY, "ES256", "r1"), JWKS, _expected())
