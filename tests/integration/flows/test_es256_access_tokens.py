"""APIs that opt in to ES256 access tokens (``signing_alg``), on both databases.

Their tokens are signed in the ES256 ring, which exists only once such a token was signed (a tenant that never
opts in publishes RSA keys only); ID tokens and every other API stay RS256. A rotation rotates both rings, a
revoked ES256 key ends its tokens at once, and a token verifies only with a key of the algorithm it names.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from consentry.runtime import Runtime
from tests.integration.flows.conftest import API, App, grant, make_app
from tests.integration.flows.test_access_follows_decisions import admin, introspect, refresh, tokens_for


@pytest.fixture
async def partner(client: httpx.AsyncClient, social: Runtime, mgmt_token: str) -> App:
    """A confidential third-party app allowed the Social API; the tenant gives third-party apps identity (so
    their tokens carry an ID token and reach /userinfo)."""
    flags = {"flags": {"third_party_oidc_identity": True}}
    r = await client.patch("/api/v2/tenants/settings", json=flags, headers=admin(mgmt_token))
    assert r.status_code == 200, r.text
    app = await make_app(
        social, third_party=True, app_type="regular_web", token_endpoint_auth_method="client_secret_post"
    )
    await grant(social, client_id=app.client_id, scope=["read:posts", "write:posts"])
    return app


async def _opt_in(client: httpx.AsyncClient, mgmt_token: str, alg: str = "ES256") -> httpx.Response:
    return await client.patch(f"/api/v2/resource-servers/{API}", json={"signing_alg": alg}, headers=admin(mgmt_token))


async def _jwks(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    return list((await client.get("/.well-known/jwks.json")).json()["keys"])


def _header(token: str) -> dict[str, Any]:
    return dict(jwt.get_unverified_header(token))


async def test_an_es256_api_gets_es256_access_tokens_and_rs256_id_tokens(
    client: httpx.AsyncClient, partner: App, mgmt_token: str, m2m_credentials: dict[str, str]
) -> None:
    assert {k["kty"] for k in await _jwks(client)} == {"RSA"}, "no EC key before an API opts in"
    r = await _opt_in(client, mgmt_token)
    assert r.status_code == 200 and r.json()["signing_alg"] == "ES256", r.text
    tokens = await tokens_for(client, partner)
    access, id_token = _header(tokens["access_token"]), _header(tokens["id_token"])
    assert (access["alg"], access["typ"]) == ("ES256", "at+jwt")
    assert id_token["alg"] == "RS256"
    keys = await _jwks(client)
    ec_keys = [k for k in keys if k["kty"] == "EC"]
    assert len(ec_keys) == 2, "the ES256 ring's current and next keys"
    assert {(k["crv"], k["alg"], k["use"]) for k in ec_keys} == {("P-256", "ES256", "sig")}
    assert access["kid"] in {k["kid"] for k in ec_keys}
    assert keys[0]["kty"] == "RSA", "the RS256 ring comes first"
    key = jwt.PyJWKSet.from_dict({"keys": keys})[access["kid"]]
    claims = jwt.decode(tokens["access_token"], key.key, algorithms=["ES256"], audience=API)
    assert claims["scope"] == tokens["scope"]
    assert (await introspect(client, m2m_credentials, tokens["access_token"]))["active"] is True
    r = await client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 200, r.text
    r = await refresh(client, partner, tokens["refresh_token"])
    assert r.status_code == 200, r.text
    assert _header(r.json()["access_token"])["alg"] == "ES256"
    assert _header(r.json()["id_token"])["alg"] == "RS256"


async def test_client_credentials_for_an_es256_api(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str, m2m_credentials: dict[str, str]
) -> None:
    await _opt_in(client, mgmt_token)
    await grant(social, client_id=m2m_credentials["client_id"], scope=["read:posts"], subject_type="client")
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials", "audience": API, **m2m_credentials})
    assert r.status_code == 200, r.text
    assert _header(r.json()["access_token"])["alg"] == "ES256"
    assert (await introspect(client, m2m_credentials, r.json()["access_token"]))["active"] is True
    data = {"grant_type": "client_credentials", "audience": social.settings.management_audience, **m2m_credentials}
    management = (await client.post("/oauth/token", data=data)).json()
    assert _header(management["access_token"])["alg"] == "RS256", "other APIs keep RS256"


async def test_rotation_rotates_both_rings_and_a_revoked_es256_key_ends_its_tokens(
    client: httpx.AsyncClient, partner: App, mgmt_token: str, m2m_credentials: dict[str, str]
) -> None:
    await _opt_in(client, mgmt_token)
    tokens = await tokens_for(client, partner)
    old_kid = _header(tokens["access_token"])["kid"]
    r = await client.post("/api/v2/keys/signing/rotate", headers=admin(mgmt_token))
    assert r.status_code == 201, r.text
    listed = {k["kid"]: k for k in (await client.get("/api/v2/keys/signing", headers=admin(mgmt_token))).json()}
    assert listed[r.json()["kid"]]["alg"] == "RS256", "the rotation answers the application signing key"
    assert listed[old_kid]["alg"] == "ES256" and listed[old_kid]["previous"] is True
    assert sum(k["current"] for k in listed.values()) == 2, "one current key per ring"
    r = await refresh(client, partner, tokens["refresh_token"])
    assert r.status_code == 200, r.text
    assert _header(r.json()["access_token"])["kid"] not in (old_kid, None)
    assert (await introspect(client, m2m_credentials, tokens["access_token"]))["active"] is True, "previous verifies"
    r = await client.put(f"/api/v2/keys/signing/{old_kid}/revoke", headers=admin(mgmt_token))
    assert r.status_code == 200, r.text
    assert (await introspect(client, m2m_credentials, tokens["access_token"]))["active"] is False
    assert old_kid not in {k["kid"] for k in await _jwks(client)}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_a_token_verifies_only_with_a_key_of_the_alg_it_names(
    client: httpx.AsyncClient, partner: App, mgmt_token: str, m2m_credentials: dict[str, str]
) -> None:
    await _opt_in(client, mgmt_token)
    tokens = await tokens_for(client, partner)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    rsa_kid = next(k["kid"] for k in await _jwks(client) if k["kty"] == "RSA")
    forged = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), "ES256", {"kid": rsa_kid, "typ": "at+jwt"})
    assert (await introspect(client, m2m_credentials, forged))["active"] is False
    header = {"alg": "HS256", "kid": _header(tokens["access_token"])["kid"], "typ": "at+jwt"}
    signing_input = _b64(json.dumps(header).encode()) + "." + tokens["access_token"].split(".")[1]
    assert (await introspect(client, m2m_credentials, signing_input + "." + _b64(b"x" * 32)))["active"] is False


@pytest.mark.parametrize("alg", ["HS256", "PS256", "es256", "none", ""])
async def test_other_signing_algs_are_refused_with_auth0s_error_shape(
    client: httpx.AsyncClient, partner: App, mgmt_token: str, alg: str
) -> None:
    r = await _opt_in(client, mgmt_token, alg)
    assert r.status_code == 400, r.text
    assert r.json()["statusCode"] == 400 and r.json()["errorCode"] == "invalid_body", r.text
    r = await client.get(f"/api/v2/resource-servers/{API}", headers=admin(mgmt_token))
    assert r.json()["signing_alg"] == "RS256", "nothing was written"


async def test_an_api_created_with_es256_keeps_it(client: httpx.AsyncClient, social: Runtime, mgmt_token: str) -> None:
    body = {"identifier": "https://ec.example/", "name": "EC API", "signing_alg": "ES256"}
    r = await client.post("/api/v2/resource-servers", json=body, headers=admin(mgmt_token))
    assert r.status_code == 201 and r.json()["signing_alg"] == "ES256", r.text
