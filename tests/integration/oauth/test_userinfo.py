"""``/userinfo`` (OIDC Core §5.3, RFC 6750): real tokens from the code flow, every way of sending them,
and every way a token can be wrong. Also the helpers the other endpoint tests share."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import update

from consentry.runtime import Runtime
from consentry.storage.models import Tenant, User
from consentry.tokens.jwt import sign
from tests.conftest import ISSUER
from tests.integration.flows.conftest import API, PASSWORD, App, grant, make_app, social  # noqa: F401
from tests.support.flow import authorize, consent, exchange, login, pkce_pair

SCOPE = "openid profile email offline_access read:posts"
SPA_CALLBACK = "https://app.example.com/callback"


async def user_tokens(
    client: httpx.AsyncClient, app: App, scope: str = SCOPE, audience: str | None = API, **extra: str
) -> dict[str, Any]:
    """Run the real code flow (login, consent when asked) and exchange the code."""
    verifier, challenge = pkce_pair()
    params = {
        "client_id": app.client_id,
        "redirect_uri": app.callback,
        "response_type": "code",
        "scope": scope,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s1",
        "nonce": "n1",
        **extra,
    }
    if audience:
        params["audience"] = audience
    step = await authorize(client, params)
    if step.on_login:
        step = await login(client, step, "alice@example.com", PASSWORD)
    if step.on_consent:
        step = await consent(client, step)
    r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier, app.secret)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def spa(rt: Runtime, **kw: Any) -> App:
    """The first-party public SPA of the brief (no secret, PKCE)."""
    return await make_app(rt, third_party=False, app_type="spa", callback=SPA_CALLBACK, **kw)


async def web_app(rt: Runtime, callback: str = "https://web.example.com/callback", **kw: Any) -> App:
    """A first-party confidential app (client_secret_post)."""
    return await make_app(rt, third_party=False, app_type="regular_web", callback=callback, **kw)


async def set_tenant(rt: Runtime, flags: dict[str, bool] | None = None, **values: Any) -> None:
    async with rt.db.transaction() as s:
        row = await s.get(Tenant, 1)
        assert row is not None
        current = dict(row.settings or {})
        current.update(values)
        if flags:
            current["flags"] = {**current.get("flags", {}), **flags}
        row.settings = current
    rt.catalog.invalidate()


def unverified(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def resigned(rt: Runtime, token: str, typ: str = "at+jwt", **changes: Any) -> str:
    """The same claims with ``changes``, signed with our real current key."""
    return await sign(rt.keys, {**unverified(token), **changes}, typ)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(token: str, public_pem: bytes) -> str:
    """The classic alg-confusion forgery: HMAC over the token with the RSA public key as the secret."""
    header = {**jwt.get_unverified_header(token), "alg": "HS256"}
    signing_input = _b64(json.dumps(header).encode()) + "." + token.split(".")[1]
    return signing_input + "." + _b64(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())


def alg_none(token: str) -> str:
    header = {**jwt.get_unverified_header(token), "alg": "none"}
    return _b64(json.dumps(header).encode()) + "." + token.split(".")[1] + "."


def unknown_kid(token: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(unverified(token), key, algorithm="RS256", headers={"kid": "not-our-key", "typ": "at+jwt"})


async def public_pem(client: httpx.AsyncClient, token: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    kid = jwt.get_unverified_header(token)["kid"]
    jwk = jwt.PyJWKSet.from_dict((await client.get("/.well-known/jwks.json")).json())[kid]
    return jwk.key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_invalid_token(r: httpx.Response, description: str) -> None:
    assert r.status_code == 401, r.text
    assert r.json() == {"error": "invalid_token", "error_description": description}
    assert r.headers["www-authenticate"] == f'Bearer error="invalid_token", error_description="{description}"'
    assert r.headers["cache-control"] == "no-store"


@pytest.fixture
async def tokens(client: httpx.AsyncClient, social: Runtime) -> dict[str, Any]:  # noqa: F811
    return await user_tokens(client, await spa(social))


# --- sending the token ------------------------------------------------------------------------------------------


async def test_get_with_bearer_header_returns_claims_by_scope(
    client: httpx.AsyncClient, tokens: dict[str, Any]
) -> None:
    r = await client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    id_token = unverified(tokens["id_token"])
    assert body["sub"] == id_token["sub"] == unverified(tokens["access_token"])["sub"]
    assert body["sub"].startswith("auth0|")
    assert body["email"] == "alice@example.com" and body["email_verified"] is False
    assert body["name"] == "alice@example.com" and body["nickname"] == "alice"
    assert type(body["updated_at"]) is int and body["updated_at"] == id_token["updated_at"]  # OIDC Core §5.1
    assert set(body) == {"sub", "name", "nickname", "updated_at", "email", "email_verified"}


async def test_post_with_bearer_header(client: httpx.AsyncClient, tokens: dict[str, Any]) -> None:
    r = await client.post("/userinfo", headers=bearer(tokens["access_token"]))
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "alice@example.com"


async def test_post_with_form_access_token(client: httpx.AsyncClient, tokens: dict[str, Any]) -> None:
    """pyoidc's default: the token in a form-encoded body (RFC 6750 §2.2)."""
    r = await client.post("/userinfo", data={"access_token": tokens["access_token"]})
    assert r.status_code == 200, r.text
    assert r.json()["sub"] == unverified(tokens["id_token"])["sub"]


async def test_header_and_body_together_is_invalid_request(client: httpx.AsyncClient, tokens: dict[str, Any]) -> None:
    r = await client.post(
        "/userinfo", data={"access_token": tokens["access_token"]}, headers=bearer(tokens["access_token"])
    )
    assert r.status_code == 400
    description = "Send the access token in the header or in the body, not both."
    assert r.json() == {"error": "invalid_request", "error_description": description}
    assert r.headers["www-authenticate"] == f'Bearer error="invalid_request", error_description="{description}"'


async def test_token_in_the_query_string_is_refused(client: httpx.AsyncClient, tokens: dict[str, Any]) -> None:
    r = await client.get("/userinfo", params={"access_token": tokens["access_token"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_a_json_body_does_not_carry_the_token(client: httpx.AsyncClient, tokens: dict[str, Any]) -> None:
    r = await client.post("/userinfo", json={"access_token": tokens["access_token"]})
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="consentry"'


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwYXNz"}])
async def test_no_token_is_401_with_a_bare_challenge(
    client: httpx.AsyncClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    for method in ("GET", "POST"):
        r = await client.request(method, "/userinfo", headers=headers)
        assert r.status_code == 401
        assert r.json() == {
            "error": "invalid_token",
            "error_description": "An access token is required (Authorization: Bearer).",
        }
        assert r.headers["www-authenticate"] == 'Bearer realm="consentry"'  # RFC 6750 §3.1: no error code


# --- what is wrong with the token -------------------------------------------------------------------------------


async def test_expired_token(client: httpx.AsyncClient, social: Runtime, tokens: dict[str, Any]) -> None:  # noqa: F811
    now = int(time.time())
    expired = await resigned(social, tokens["access_token"], iat=now - 7200, exp=now - 3600)
    r = await client.get("/userinfo", headers=bearer(expired))
    assert_invalid_token(r, "The access token has expired.")


async def test_forgeries_are_refused(client: httpx.AsyncClient, social: Runtime, tokens: dict[str, Any]) -> None:  # noqa: F811
    at = tokens["access_token"]
    pem = await public_pem(client, at)
    tampered_claims = _b64(json.dumps({**unverified(at), "sub": "auth0|someone-else"}).encode())
    cases = {
        "hs256 with the public key": (hs256_with_public_key(at, pem), "The access token is invalid."),
        "alg none": (alg_none(at), "The access token is invalid."),
        "unknown kid": (unknown_kid(at), "The access token is signed with an unknown key."),
        "tampered payload": (
            at.split(".")[0] + "." + tampered_claims + "." + at.split(".")[2],
            "The access token is invalid.",
        ),
        "another issuer": (await resigned(social, at, iss="https://evil.example.com/"), "The access token is invalid."),
        "garbage": ("not-a-jwt", "The access token is invalid."),
    }
    for name, (token, description) in cases.items():
        r = await client.get("/userinfo", headers=bearer(token))
        assert r.status_code == 401, name
        assert r.json()["error_description"] == description, name
        assert r.headers["www-authenticate"].startswith('Bearer error="invalid_token"'), name


async def test_the_id_token_is_not_an_access_token(client: httpx.AsyncClient, tokens: dict[str, Any]) -> None:
    r = await client.get("/userinfo", headers=bearer(tokens["id_token"]))
    assert_invalid_token(r, "The token is not an access token.")


async def test_token_without_openid_has_no_userinfo_audience(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    tokens = await user_tokens(client, await spa(social), scope="read:posts offline_access")
    assert unverified(tokens["access_token"])["aud"] == API and "id_token" not in tokens
    r = await client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert_invalid_token(r, "The access token is not valid for the userinfo endpoint (openid was not granted).")


async def test_userinfo_audience_without_openid_scope_is_insufficient_scope(
    client: httpx.AsyncClient,
    social: Runtime,
    tokens: dict[str, Any],  # noqa: F811
) -> None:
    token = await resigned(social, tokens["access_token"], scope="profile email")
    r = await client.get("/userinfo", headers=bearer(token))
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_scope"
    assert r.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", error_description="The access token '
        'was not granted the openid scope.", scope="openid"'
    )


async def test_m2m_token_is_refused(
    client: httpx.AsyncClient, m2m_credentials: dict[str, str], runtime: Runtime
) -> None:
    data = {"grant_type": "client_credentials", "audience": runtime.settings.management_audience, **m2m_credentials}
    r = await client.post("/oauth/token", data=data)
    r = await client.get("/userinfo", headers=bearer(r.json()["access_token"]))
    assert_invalid_token(r, "The access token is not valid for the userinfo endpoint (openid was not granted).")


async def test_blocked_and_deleted_users_are_refused(
    client: httpx.AsyncClient,
    social: Runtime,
    tokens: dict[str, Any],  # noqa: F811
) -> None:
    user_id = unverified(tokens["access_token"])["sub"]
    async with social.db.transaction() as s:
        await s.execute(update(User).where(User.user_id == user_id).values(blocked=True))
    r = await client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert_invalid_token(r, "The user of this access token is blocked or no longer exists.")
    ghost = await resigned(social, tokens["access_token"], sub="auth0|does-not-exist")
    r = await client.get("/userinfo", headers=bearer(ghost))
    assert_invalid_token(r, "The user of this access token is blocked or no longer exists.")


# --- which claims ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "claims"),
    [
        ("openid", {"sub"}),
        ("openid email", {"sub", "email", "email_verified"}),
        ("openid profile", {"sub", "name", "nickname", "updated_at"}),
    ],
)
async def test_claims_follow_the_granted_scope(
    client: httpx.AsyncClient,
    social: Runtime,
    scope: str,  # noqa: F811
    claims: set[str],
) -> None:
    tokens = await user_tokens(client, await spa(social), scope=scope)
    r = await client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert r.status_code == 200, r.text
    assert set(r.json()) == claims


async def test_updated_at_is_seconds_in_tokens_and_iso_in_the_management_api(
    client: httpx.AsyncClient,
    social: Runtime,
    mgmt_token: str,  # noqa: F811
) -> None:
    """OIDC Core §5.1: ``updated_at`` is a JSON number in the ID token and at /userinfo (strict relying parties
    reject a string); the Management API keeps Auth0's ISO 8601 string. The ID token is checked with joserfc
    against the published JWKS."""
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import KeySet

    tokens = await user_tokens(client, await spa(social), scope="openid profile")
    jwks = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())
    claims = jose_jwt.decode(tokens["id_token"], jwks).claims
    info = (await client.get("/userinfo", headers=bearer(tokens["access_token"]))).json()
    assert type(claims["updated_at"]) is int and info["updated_at"] == claims["updated_at"]
    user = (await client.get(f"/api/v2/users/{claims['sub']}", headers=bearer(mgmt_token))).json()
    assert isinstance(user["updated_at"], str) and user["updated_at"].endswith("Z")
    iso_seconds = datetime.fromisoformat(user["updated_at"].replace("Z", "+00:00")).timestamp()
    assert claims["updated_at"] == int(iso_seconds)


async def test_pairwise_sub_of_a_third_party_app_matches_its_id_token(
    client: httpx.AsyncClient,
    social: Runtime,  # noqa: F811
) -> None:
    await set_tenant(social, flags={"third_party_oidc_identity": True})
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    tokens = await user_tokens(client, app, scope="openid email read:posts")
    sub = unverified(tokens["id_token"])["sub"]
    assert sub.startswith("pw|")
    r = await client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert r.status_code == 200, r.text
    assert r.json() == {"sub": sub, "email": "alice@example.com", "email_verified": False}
    # the same pairwise sub presented by another client does not resolve to alice
    other_app = await make_app(social, third_party=True)
    other = await resigned(social, tokens["access_token"], client_id=other_app.client_id)
    assert_invalid_token(
        await client.get("/userinfo", headers=bearer(other)),
        "The user of this access token is blocked or no longer exists.",
    )


async def test_discovery_names_these_endpoints(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/.well-known/openid-configuration")).json()
    assert doc["userinfo_endpoint"] == f"{ISSUER}userinfo"
    assert doc["revocation_endpoint"] == f"{ISSUER}oauth/revoke"
    assert doc["introspection_endpoint"] == f"{ISSUER}oauth/introspect"
    assert doc["end_session_endpoint"] == f"{ISSUER}oidc/logout"
    assert "none" not in doc["introspection_endpoint_auth_methods_supported"]
    assert "none" in doc["revocation_endpoint_auth_methods_supported"]


async def test_hostile_parameter_names_do_not_reach_the_challenge_header(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = 'a"\r\nSet-Cookie: x=1' + "=1&" + 'a"\r\nSet-Cookie: x=1' + "=2"
    form = {"content-type": "application/x-www-form-urlencoded"}
    r = await client.post("/userinfo", content=body.encode(), headers=form)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    challenge = r.headers["www-authenticate"]
    assert "\r" not in challenge and "\n" not in challenge and challenge.count('"') == 4
    assert "set-cookie" not in r.headers
