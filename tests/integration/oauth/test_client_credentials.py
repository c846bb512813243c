"""client_credentials at /oauth/token: form and JSON bodies, both client auth methods, error shapes."""

from __future__ import annotations

import base64

import httpx
import jwt

from consentry.runtime import Runtime
from tests.conftest import ISSUER


async def _jwks(client: httpx.AsyncClient) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_dict((await client.get("/.well-known/jwks.json")).json())


async def test_json_body_client_secret_post_gives_at_jwt(
    client: httpx.AsyncClient, m2m_credentials: dict[str, str], runtime: Runtime
) -> None:
    body = {
        "grant_type": "client_credentials",
        "audience": runtime.settings.management_audience,
        "realm": None,
        **m2m_credentials,
    }
    r = await client.post("/oauth/token", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    data = r.json()
    assert data["token_type"] == "Bearer" and isinstance(data["expires_in"], int)
    header = jwt.get_unverified_header(data["access_token"])
    assert header["typ"] == "at+jwt"
    key = (await _jwks(client))[header["kid"]]
    audience = runtime.settings.management_audience
    claims = jwt.decode(data["access_token"], key.key, algorithms=["RS256"], audience=audience)
    assert claims["iss"] == ISSUER
    assert claims["gty"] == "client-credentials"
    assert claims["sub"] == f"{m2m_credentials['client_id']}@clients"
    assert claims["client_id"] == m2m_credentials["client_id"]
    assert claims["jti"]
    assert "read:clients" in claims["scope"].split()


async def test_basic_auth_and_scope_subset(
    client: httpx.AsyncClient, m2m_credentials: dict[str, str], runtime: Runtime
) -> None:
    basic = base64.b64encode(f"{m2m_credentials['client_id']}:{m2m_credentials['client_secret']}".encode()).decode()
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "audience": runtime.settings.management_audience,
            "scope": "read:users",
        },
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "read:users"


async def test_wrong_secret_with_basic_is_401_with_challenge(
    client: httpx.AsyncClient, m2m_credentials: dict[str, str]
) -> None:
    basic = base64.b64encode(f"{m2m_credentials['client_id']}:wrong".encode()).decode()
    r = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")


async def test_error_table(client: httpx.AsyncClient, m2m_credentials: dict[str, str], runtime: Runtime) -> None:
    aud = runtime.settings.management_audience
    cases = [
        ({"audience": aud}, 400, "invalid_request"),  # no grant_type
        ({"grant_type": "urn:nope", **m2m_credentials}, 501, "unsupported_grant_type"),
        (
            {"grant_type": "client_credentials", "client_id": m2m_credentials["client_id"], "client_secret": "x"},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "audience": "https://unknown.example/", **m2m_credentials},
            403,
            "access_denied",
        ),
        (
            {"grant_type": "client_credentials", "audience": aud, "scope": "read:nothing", **m2m_credentials},
            403,
            "access_denied",
        ),
        ({"grant_type": "client_credentials", **m2m_credentials}, 403, "access_denied"),  # no audience, no default
    ]
    for body, status, error in cases:
        r = await client.post("/oauth/token", data=body)
        assert (r.status_code, r.json()["error"]) == (status, error), (body, r.text)
        assert r.json()["error_description"]


async def test_malformed_bodies_are_invalid_request(client: httpx.AsyncClient) -> None:
    for content, ctype in [
        (b"{not json", "application/json"),
        (b"[1,2]", "application/json"),
        (b"grant_type=a&grant_type=b", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b"<xml/>", "application/xml"),
    ]:
        r = await client.post("/oauth/token", content=content, headers={"content-type": ctype})
        assert r.status_code == 400, (content, r.text)
        assert r.json()["error"] == "invalid_request"


async def test_oversize_body_is_413(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/oauth/token",
        content=b"a=" + b"x" * (1024 * 1024 + 10),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    assert r.json()["error"] == "invalid_request"
