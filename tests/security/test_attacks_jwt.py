"""Forged JWTs: ``alg: none``, HS256 keyed with our public key, foreign keys, ``kid`` injection, bad claims.

Each row forges a Management API access token from a real one and presents it; the answer must be
``401 invalid_token`` and never a 500. A few rows are also tried at ``/userinfo`` and as the
``id_token_hint`` of RP-initiated logout (which must then refuse the return URL).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from consentry.runtime import Runtime
from tests.security.conftest import SQLITE_ONLY, World, get_tokens, no_redirect

pytestmark = pytest.mark.attack

ATTACKER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ATTACKER_EC = ec.generate_private_key(ec.SECP256R1())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def rs256(header: dict[str, Any], claims: dict[str, Any], key: Any = ATTACKER_RSA) -> str:
    """Signed by hand, so header values PyJWT would refuse to write (a non-string ``kid``) can be sent."""
    signing_input = f"{b64(json.dumps({'alg': 'RS256', **header}).encode())}.{b64(json.dumps(claims).encode())}"
    return signing_input + "." + b64(key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))


def attacker_jwk() -> dict[str, Any]:
    return json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(ATTACKER_RSA.public_key()))


class Forge:
    """A real token's claims and our key id, to build variants from."""

    def __init__(self, rt: Runtime, token: str, kid: str, private: Any) -> None:
        self.rt, self.token, self.kid, self.private = rt, token, kid, private
        self.claims = jwt.decode(token, options={"verify_signature": False})
        self.public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def ours(self, **changes: Any) -> str:
        """Signed with our real key (what only an insider could do): tests the claim checks."""
        claims = {k: v for k, v in {**self.claims, **changes}.items() if v is not None}
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid, "typ": "at+jwt"})

    def attacker(self, header: dict[str, Any], alg: str = "RS256", key: Any = ATTACKER_RSA) -> str:
        return jwt.encode(self.claims, key, algorithm=alg, headers=header)


def _tampered(f: Forge) -> str:
    head, _, sig = f.token.split(".")
    body = b64(json.dumps({**f.claims, "scope": f.claims["scope"] + " delete:everything"}).encode())
    return f"{head}.{body}.{sig}"


NOW = int(time.time())
FORGERIES: list[Any] = [
    pytest.param(lambda f: raw({"alg": "none", "typ": "JWT", "kid": f.kid}, f.claims), id="alg_none"),
    pytest.param(lambda f: raw({"alg": "None", "kid": f.kid}, f.claims), id="alg_None_capitalised"),
    pytest.param(lambda f: raw({"alg": "NONE", "kid": f.kid}, f.claims), id="alg_NONE_uppercase"),
    pytest.param(lambda f: raw({"alg": "none", "kid": f.kid}, f.claims, b"x" * 32), id="alg_none_with_signature"),
    pytest.param(lambda f: raw({"kid": f.kid}, f.claims), id="alg_missing"),
    pytest.param(
        lambda f: hs256({"alg": "HS256", "typ": "JWT", "kid": f.kid}, f.claims, f.public_pem),
        id="hs256_keyed_with_our_public_key_pem",
    ),
    pytest.param(
        lambda f: hs256({"alg": "HS256", "kid": f.kid}, f.claims, f.public_pem.strip()),
        id="hs256_keyed_with_stripped_pem",
    ),
    pytest.param(lambda f: hs256({"alg": "HS256", "kid": f.kid}, f.claims, b""), id="hs256_empty_secret"),
    pytest.param(lambda f: f.attacker({"kid": f.kid}), id="rs256_attacker_key_with_our_kid"),
    pytest.param(lambda f: f.attacker({"kid": f.kid, "jwk": attacker_jwk()}), id="embedded_jwk_header"),
    pytest.param(lambda f: f.attacker({"kid": f.kid, "jku": "https://evil.example/jwks.json"}), id="jku_header"),
    pytest.param(lambda f: f.attacker({"kid": f.kid, "x5u": "https://evil.example/cert.pem"}), id="x5u_header"),
    pytest.param(lambda f: f.attacker({"kid": f.kid}, "PS256"), id="ps256_attacker_key"),
    pytest.param(lambda f: f.attacker({"kid": f.kid}, "ES256", ATTACKER_EC), id="es256_attacker_key"),
    pytest.param(
        lambda f: jwt.encode(f.claims, f.private, algorithm="RS512", headers={"kid": f.kid}), id="rs512_with_our_key"
    ),
    pytest.param(
        lambda f: jwt.encode(f.claims, f.private, algorithm="PS256", headers={"kid": f.kid}), id="ps256_with_our_key"
    ),
    pytest.param(_tampered, id="payload_tampered_signature_kept"),
    pytest.param(lambda f: f.token.rsplit(".", 1)[0] + ".", id="signature_stripped"),
    pytest.param(lambda f: f.token.rsplit(".", 1)[0], id="two_segments"),
    pytest.param(lambda f: f.token + ".x", id="four_segments"),
    pytest.param(lambda f: f.attacker({"kid": "../../../../../../dev/null"}), id="kid_path_traversal"),
    pytest.param(lambda f: f.attacker({"kid": "' OR '1'='1"}), id="kid_sql_injection"),
    pytest.param(lambda f: f.attacker({"kid": f"{f.kid}' --"}), id="kid_sql_comment"),
    pytest.param(lambda f: f.attacker({"kid": "k" * 10_000}), id="kid_oversized"),
    pytest.param(lambda f: rs256({"kid": 123}, f.claims), id="kid_integer"),
    pytest.param(lambda f: rs256({"kid": [f.kid]}, f.claims), id="kid_list"),
    pytest.param(lambda f: rs256({"kid": None}, f.claims), id="kid_null"),
    pytest.param(lambda f: rs256({"kid": {"$ne": ""}}, f.claims), id="kid_object_operator_injection"),
    pytest.param(lambda f: rs256({"kid": f.kid, "crit": ["exp"]}, f.claims, f.private), id="unknown_crit_with_our_key"),
    pytest.param(lambda f: f.attacker({"kid": "\x00"}), id="kid_nul_byte"),
    pytest.param(lambda f: jwt.encode(f.claims, f.private, algorithm="RS256"), id="kid_missing_even_with_our_key"),
    pytest.param(lambda f: f.ours(exp=NOW - 3600), id="expired"),
    pytest.param(lambda f: f.ours(exp=None), id="exp_missing"),
    pytest.param(lambda f: f.ours(exp="never"), id="exp_not_a_number"),
    pytest.param(lambda f: f.ours(nbf=NOW + 3600), id="not_yet_valid"),
    pytest.param(lambda f: f.ours(iss="https://evil.example/"), id="other_issuer"),
    pytest.param(lambda f: f.ours(iss=None), id="issuer_missing"),
    pytest.param(lambda f: f.ours(aud="https://social.example.com"), id="other_audience"),
    pytest.param(lambda f: f.ours(aud=None), id="audience_missing"),
    pytest.param(lambda f: f.ours(sub=None), id="subject_missing"),
    pytest.param(lambda f: "not-a-jwt", id="garbage"),
    pytest.param(lambda f: "e30.e30.e30", id="empty_json_segments"),
    pytest.param(lambda f: "a" * 200_000, id="oversized_token"),
    pytest.param(lambda f: b64(b"\xff\xfe") + "." + b64(b"\xff") + ".", id="invalid_utf8_segments"),
]


@pytest.fixture
async def forge(runtime: Runtime, mgmt_token: str) -> Forge:
    key = await runtime.keys.signing_key()
    return Forge(runtime, mgmt_token, key.kid, key.private_key)


@pytest.mark.parametrize("make", FORGERIES)
@SQLITE_ONLY
async def test_forged_management_token(client: httpx.AsyncClient, forge: Forge, make: Callable[[Forge], str]) -> None:
    r = await client.get("/api/v2/clients", headers={"Authorization": f"Bearer {make(forge)}"})
    assert r.status_code == 401, r.text
    assert r.json()["errorCode"] == "invalid_token"


@SQLITE_ONLY
async def test_forgery_control(client: httpx.AsyncClient, forge: Forge) -> None:
    """The real token, and one re-signed by our own key unchanged, are accepted: the rows fail for the forgery."""
    for token in (forge.token, forge.ours()):
        assert (await client.get("/api/v2/clients", headers={"Authorization": f"Bearer {token}"})).status_code == 200


async def test_revoked_signing_key(client: httpx.AsyncClient, forge: Forge) -> None:
    """A token signed by a key that was rotated out and revoked is refused at once."""
    old = forge.ours()
    await forge.rt.keys.rotate()
    assert (await client.get("/api/v2/clients", headers={"Authorization": f"Bearer {old}"})).status_code == 200
    await forge.rt.keys.revoke(forge.kid)
    forge.rt.catalog.invalidate()
    r = await client.get("/api/v2/clients", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 401 and r.json()["errorCode"] == "invalid_token"


USERINFO_FORGERIES = [
    pytest.param("alg_none", id="userinfo_alg_none"),
    pytest.param("hs256_public_key", id="userinfo_hs256_keyed_with_public_key"),
    pytest.param("attacker_key", id="userinfo_attacker_key_with_our_kid"),
    pytest.param("logout_alg_none", id="logout_hint_alg_none"),
    pytest.param("logout_hs256_public_key", id="logout_hint_hs256_keyed_with_public_key"),
]


@pytest.mark.parametrize("how", USERINFO_FORGERIES)
@SQLITE_ONLY
async def test_forged_user_tokens(client: httpx.AsyncClient, world: World, how: str) -> None:
    tokens = await get_tokens(client, world.web, scope="openid read:posts")
    key = await world.rt.keys.signing_key()
    forge = Forge(
        world.rt, tokens["id_token" if how.startswith("logout") else "access_token"], key.kid, key.private_key
    )
    victim = {**forge.claims, "sub": world.bob}
    token = {
        "alg_none": raw({"alg": "none", "kid": key.kid}, victim),
        "hs256_public_key": hs256({"alg": "HS256", "kid": key.kid}, victim, forge.public_pem),
        "attacker_key": jwt.encode(victim, ATTACKER_RSA, algorithm="RS256", headers={"kid": key.kid}),
        "logout_alg_none": raw({"alg": "none", "kid": key.kid}, victim),
        "logout_hs256_public_key": hs256({"alg": "HS256", "kid": key.kid}, victim, forge.public_pem),
    }[how]
    if how.startswith("logout"):
        r = await client.get(
            "/oidc/logout",
            params={"id_token_hint": token, "post_logout_redirect_uri": "https://partner.example.com/bye"},
        )
        assert r.status_code == 400 and "not a valid ID token" in r.text
        no_redirect(r)
        return
    r = await client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert world.bob not in r.text
