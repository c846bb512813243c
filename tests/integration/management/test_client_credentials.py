"""clients/{id}/credentials and ``private_key_jwt`` (RFC 7523 §2.2) at the token, revocation and introspection
endpoints, driven by Authlib's ``PrivateKeyJWT`` client authentication."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import httpx2
import jwt
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from consentry.runtime import Runtime
from tests.conftest import ISSUER
from tests.integration.management.helpers import assert_error

API = "https://reports.example.com"
TOKEN_URL = f"{ISSUER}oauth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _keypair(bits: int = 2048) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


async def _m2m_app(mgmt: httpx.AsyncClient) -> dict[str, Any]:
    r = await mgmt.post(
        "/api/v2/resource-servers", json={"identifier": API, "name": "Reports", "scopes": [{"value": "read:reports"}]}
    )
    assert r.status_code == 201, r.text
    r = await mgmt.post(
        "/api/v2/clients", json={"name": "Batch", "app_type": "non_interactive", "grant_types": ["client_credentials"]}
    )
    assert r.status_code == 201, r.text
    app = r.json()
    r = await mgmt.post(
        "/api/v2/client-grants", json={"client_id": app["client_id"], "audience": API, "scope": ["read:reports"]}
    )
    assert r.status_code == 201, r.text
    return app  # type: ignore[no-any-return]


async def _with_key(mgmt: httpx.AsyncClient, app: dict[str, Any], public: str, alg: str = "RS256") -> dict[str, Any]:
    url = f"/api/v2/clients/{app['client_id']}/credentials"
    r = await mgmt.post(url, json={"credential_type": "public_key", "name": "ci key", "pem": public, "alg": alg})
    assert r.status_code == 201, r.text
    credential = r.json()
    r = await mgmt.patch(
        f"/api/v2/clients/{app['client_id']}",
        json={
            "token_endpoint_auth_method": None,
            "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": credential["id"]}]}},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["token_endpoint_auth_method"] is None
    assert r.json()["client_authentication_methods"] == {"private_key_jwt": {"credentials": [{"id": credential["id"]}]}}
    return credential  # type: ignore[no-any-return]


def _authlib(app: Any, client_id: str, private: str, alg: str = "RS256", endpoint: str | None = TOKEN_URL) -> Any:
    session = AsyncOAuth2Client(
        client_id,
        private,
        token_endpoint_auth_method="private_key_jwt",
        revocation_endpoint_auth_method="private_key_jwt",  # Authlib's default there is client_secret_basic
        transport=httpx2.ASGITransport(app=app),  # Authlib's httpx integration is built on httpx2
    )
    session.register_client_auth_method(PrivateKeyJWT(endpoint, alg=alg))
    return session


def _assertion(client_id: str, private: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "exp": now + 60, "jti": uuid.uuid4().hex, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, private, algorithm="RS256")


async def test_credentials_crud_shapes_and_validation(mgmt: httpx.AsyncClient) -> None:
    app = await _m2m_app(mgmt)
    url = f"/api/v2/clients/{app['client_id']}/credentials"
    _, public = _keypair()
    r = await mgmt.post(url, json={"credential_type": "public_key", "pem": public, "alg": "PS256", "name": "k1"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["id"].startswith("cred_") and made["credential_type"] == "public_key" and made["alg"] == "PS256"
    assert set(made) == {"id", "name", "kid", "alg", "credential_type", "created_at", "updated_at"} and made["kid"]
    assert (await mgmt.get(url)).json() == [made]
    assert (await mgmt.get(f"{url}/{made['id']}")).json() == made
    later = await mgmt.patch(f"{url}/{made['id']}", json={"expires_at": "2099-01-01T00:00:00Z"})
    assert later.status_code == 200 and later.json()["expires_at"].startswith("2099-01-01")
    # refused: a small key, an EC key, no PEM, mTLS credential types, a third key
    _, small = _keypair(1024)
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    for body in (
        {"credential_type": "public_key", "pem": small},
        {"credential_type": "public_key", "pem": ec_pem},
        {"credential_type": "public_key", "pem": "not a key"},
        {"credential_type": "x509_cert", "pem": public},
        {"credential_type": "public_key", "pem": public, "alg": "HS256"},
    ):
        assert_error(await mgmt.post(url, json=body), 400, "invalid_body")
    assert (await mgmt.post(url, json={"credential_type": "public_key", "pem": _keypair()[1]})).status_code == 201
    assert_error(
        await mgmt.post(url, json={"credential_type": "public_key", "pem": public}), 409, "too_many_credentials"
    )
    # listing a credential of another application is refused
    other = await mgmt.post("/api/v2/clients", json={"name": "Other", "app_type": "non_interactive"})
    r = await mgmt.patch(
        f"/api/v2/clients/{other.json()['client_id']}",
        json={"client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": made["id"]}]}}},
    )
    assert_error(r, 400, "invalid_body")
    assert (await mgmt.delete(f"{url}/{made['id']}")).status_code == 204
    assert_error(await mgmt.get(f"{url}/{made['id']}"), 404, "inexistent_credential")
    assert_error(await mgmt.get("/api/v2/clients/nope/credentials"), 404, "inexistent_client")


async def test_authlib_private_key_jwt_at_token_revocation_and_introspection(
    mgmt: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    client = await _m2m_app(mgmt)
    private, public = _keypair()
    await _with_key(mgmt, client, public)
    async with _authlib(app, client["client_id"], private) as session:
        token = await session.fetch_token(TOKEN_URL, grant_type="client_credentials", audience=API)
        assert token["token_type"] == "Bearer" and token["scope"] == "read:reports"
        r = await session.introspect_token(f"{ISSUER}oauth/introspect", token=token["access_token"])
        assert r.status_code == 200 and r.json()["active"] is True and r.json()["client_id"] == client["client_id"]
        r = await session.revoke_token(f"{ISSUER}oauth/revoke", token="unknown-token")
        assert r.status_code == 200, r.text
    # the audience may also be the issuer, and the endpoint called
    async with _authlib(app, client["client_id"], private, endpoint=None) as session:
        r = await session.introspect_token(f"{ISSUER}oauth/introspect", token=token["access_token"])
        assert r.json()["active"] is True
    # the secret no longer authenticates the application
    r = await mgmt.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
            "audience": API,
        },
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"iss": "someone-else"}, "iss"),
        ({"aud": "https://elsewhere.example.com/oauth/token"}, "aud"),
        ({"exp": -120}, "expired"),
        ({"exp": None}, "exp"),
        ({"jti": None}, "jti"),
        ({"exp": 7200}, "exp is more than"),
        ({"iat": 600}, "iat"),
    ],
)
async def test_assertion_checks(mgmt: httpx.AsyncClient, claims: dict[str, Any], why: str) -> None:
    # times are seconds from now, taken when the test runs (not when it was collected, minutes earlier)
    claims = {k: int(time.time()) + v if k in ("exp", "iat") and v is not None else v for k, v in claims.items()}
    client = await _m2m_app(mgmt)
    private, public = _keypair()
    await _with_key(mgmt, client, public)
    form = {
        "grant_type": "client_credentials",
        "audience": API,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _assertion(client["client_id"], private, **claims),
    }
    r = await mgmt.post("/oauth/token", data=form)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text


async def test_replay_wrong_key_and_bad_requests(mgmt: httpx.AsyncClient) -> None:
    client = await _m2m_app(mgmt)
    private, public = _keypair()
    await _with_key(mgmt, client, public)
    assertion = _assertion(client["client_id"], private)
    form = {"grant_type": "client_credentials", "audience": API, "client_assertion_type": ASSERTION_TYPE}
    assert (await mgmt.post("/oauth/token", data={**form, "client_assertion": assertion})).status_code == 200
    replay = await mgmt.post("/oauth/token", data={**form, "client_assertion": assertion})  # RFC 7523 §3 #7
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    stranger, _ = _keypair()
    r = await mgmt.post("/oauth/token", data={**form, "client_assertion": _assertion(client["client_id"], stranger)})
    assert r.status_code == 401
    r = await mgmt.post(
        "/oauth/token",
        data={
            **form,
            "client_assertion_type": "urn:other",
            "client_assertion": _assertion(client["client_id"], private),
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = await mgmt.post(
        "/oauth/token",
        data={**form, "client_id": "another", "client_assertion": _assertion(client["client_id"], private)},
    )
    assert r.status_code == 401
    r = await mgmt.post("/oauth/token", data={**form, "client_assertion": "not.a.jwt"})
    assert r.status_code == 401
    # an application still on client secrets cannot use an assertion
    secret_app = await mgmt.post(
        "/api/v2/clients", json={"name": "Plain", "app_type": "non_interactive", "grant_types": ["client_credentials"]}
    )
    plain_id = secret_app.json()["client_id"]
    r = await mgmt.post("/oauth/token", data={**form, "client_assertion": _assertion(plain_id, private)})
    assert r.status_code == 401


async def test_back_to_secrets_and_discovery(mgmt: httpx.AsyncClient) -> None:
    client = await _m2m_app(mgmt)
    _, public = _keypair()
    await _with_key(mgmt, client, public)
    r = await mgmt.patch(
        f"/api/v2/clients/{client['client_id']}",
        json={"client_authentication_methods": None, "token_endpoint_auth_method": "client_secret_post"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["token_endpoint_auth_method"] == "client_secret_post"
    assert "client_authentication_methods" not in r.json()
    meta = (await mgmt.get("/.well-known/openid-configuration")).json()
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert "private_key_jwt" in meta["introspection_endpoint_auth_methods_supported"]
    assert meta["token_endpoint_auth_signing_alg_values_supported"] == ["RS256", "RS384", "PS256"]
