"""Discovery and JWKS (issue: foundation)."""

from __future__ import annotations

import httpx

from tests.conftest import ISSUER


async def test_both_metadata_paths_serve_the_same_document(client: httpx.AsyncClient) -> None:
    a = await client.get("/.well-known/openid-configuration")
    b = await client.get("/.well-known/oauth-authorization-server")
    assert a.status_code == b.status_code == 200
    assert a.headers["content-type"].startswith("application/json")
    assert a.json() == b.json()
    doc = a.json()
    assert doc["issuer"] == ISSUER
    assert doc["token_endpoint"] == f"{ISSUER}oauth/token"
    assert doc["authorization_endpoint"] == f"{ISSUER}authorize"
    assert doc["jwks_uri"] == f"{ISSUER}.well-known/jwks.json"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert "registration_endpoint" not in doc  # DCR is off by default


async def test_jwks_publishes_the_signing_key(client: httpx.AsyncClient) -> None:
    r = await client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    keys = r.json()["keys"]
    assert keys and all(k["kty"] == "RSA" and k["alg"] == "RS256" and k["kid"] for k in keys)
    assert all("d" not in k for k in keys), "private key material must never be published"
