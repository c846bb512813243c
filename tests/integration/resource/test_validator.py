"""TokenValidator against real Consentry tokens and JWKS (served in-process through the ASGI app)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from consentry.runtime import Runtime
from consentry.tokens.jwt import sign
from consentry_resource import (
    InsufficientScope,
    InvalidToken,
    TokenValidator,
    ValidatorUnavailable,
    require_scopes,
    token_scopes,
)
from tests.conftest import ISSUER
from tests.integration.resource.conftest import RESOURCE, TokenFactory, grant, make_api


async def test_valid_token_returns_claims(validator: TokenValidator, mint: TokenFactory) -> None:
    token = await mint()
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = await validator.validate(token)
    assert claims["iss"] == ISSUER and claims["aud"] == RESOURCE
    assert token_scopes(claims) == {"read:notes", "write:notes"}
    require_scopes(claims, ["read:notes"])
    with pytest.raises(InsufficientScope) as exc:
        require_scopes({"scope": "read:notes"}, ["read:notes", "write:notes"])
    assert exc.value.missing == ["write:notes"]


async def test_jwks_is_cached(validator: TokenValidator, mint: TokenFactory) -> None:
    for _ in range(3):
        await validator.validate(await mint())
    assert validator.fetch_count == 1


async def test_auth0_dialect_typ_jwt_is_accepted(
    runtime: Runtime, as_http: httpx.AsyncClient, mint: TokenFactory, m2m_credentials: dict[str, str]
) -> None:
    await make_api(runtime, "https://legacy.example/", token_dialect="access_token")
    await grant(runtime, m2m_credentials["client_id"], "https://legacy.example/", ["read:notes"])
    token = await mint("https://legacy.example/")
    assert jwt.get_unverified_header(token)["typ"] == "JWT"
    v = TokenValidator(ISSUER, "https://legacy.example/", http_client=as_http)
    assert (await v.validate(token))["scope"] == "read:notes"


async def test_token_for_another_api_is_refused(
    validator: TokenValidator, mint: TokenFactory, runtime: Runtime
) -> None:
    token = await mint(runtime.settings.management_audience)
    with pytest.raises(InvalidToken, match="not meant for this resource"):
        await validator.validate(token)


async def _forge(runtime: Runtime, **claims: Any) -> str:
    now = int(time.time())
    base = {"iss": ISSUER, "sub": "x@clients", "aud": RESOURCE, "iat": now, "exp": now + 300, "scope": "read:notes"}
    base.update(claims)
    return await sign(runtime.keys, {k: v for k, v in base.items() if v is not None}, "at+jwt")


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"iss": "http://evil.example/"}, "another issuer"),
        ({"iss": "http://testserver"}, "another issuer"),  # no trailing slash: the issuer is compared exactly
        ({"aud": ["http://other.example/", "http://rs.example/mcp/"]}, "not meant for this resource"),
        ({"iat": int(time.time()) + 3600}, "invalid token"),
        ({"exp": None}, "invalid token"),
        ({"iat": None}, "invalid token"),
        ({"aud": None}, "invalid token"),
    ],
)
async def test_claim_checks(validator: TokenValidator, runtime: Runtime, claims: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidToken, match=message):
        await validator.validate(await _forge(runtime, **claims))


async def test_audience_array_containing_the_resource_is_accepted(validator: TokenValidator, runtime: Runtime) -> None:
    token = await _forge(runtime, aud=[RESOURCE, f"{ISSUER}userinfo"])
    assert (await validator.validate(token))["aud"][0] == RESOURCE


async def test_leeway_tolerates_small_clock_skew(validator: TokenValidator, runtime: Runtime) -> None:
    now = int(time.time())
    await validator.validate(await _forge(runtime, exp=now - 10, iat=now - 100))
    with pytest.raises(InvalidToken, match="expired"):
        await validator.validate(await _forge(runtime, exp=now - 60, iat=now - 100))


def _hs256_with_public_key(claims: dict[str, Any], kid: str, secret: bytes) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": kid}).encode()) + "." + b64(json.dumps(claims).encode())
    )
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


async def test_header_checks(validator: TokenValidator, runtime: Runtime) -> None:
    key = await runtime.keys.signing_key()
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": RESOURCE, "iat": now, "exp": now + 300, "sub": "x"}
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": key.kid, "typ": "at+jwt"})
    hs256 = _hs256_with_public_key(claims, key.kid, public_pem)  # the classic key-confusion attack
    cases = [
        (unsigned, "unsupported token algorithm"),
        (hs256, "unsupported token algorithm"),
        (jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": None}), "typ"),
        (jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "id+jwt"}), "typ"),
        (jwt.encode(claims, key.private_key, algorithm="RS256", headers={"typ": "at+jwt"}), "key id"),
        ("not-a-jwt", "malformed"),
        ("", "malformed"),
        ("a" * 20000, "malformed"),
    ]
    for token, message in cases:
        with pytest.raises(InvalidToken, match=message):
            await validator.validate(token)
    # a tampered signature
    good = await _forge(runtime)
    head, body, sig = good.split(".")
    with pytest.raises(InvalidToken, match="invalid token"):
        await validator.validate(f"{head}.{body}.{sig[:-4]}AAAA")


async def test_key_rotation_needs_no_refetch(
    runtime: Runtime, as_http: httpx.AsyncClient, notes_api: str, mint: TokenFactory
) -> None:
    """The key a rotation promotes was published as the next key: the JWKS fetched before already holds it."""
    v = TokenValidator(ISSUER, notes_api, http_client=as_http, clock=lambda: 1000.0)
    await v.validate(await mint())
    rotated = await runtime.keys.rotate()
    token = await mint()
    assert jwt.get_unverified_header(token)["kid"] == rotated.kid
    assert (await v.validate(token))["aud"] == RESOURCE and v.fetch_count == 1


async def test_a_key_created_after_the_fetch_refetches_once(
    runtime: Runtime, as_http: httpx.AsyncClient, notes_api: str, mint: TokenFactory
) -> None:
    """Two rotations since the fetch: the signing key was created (as next) after it, an unknown kid."""
    clock = [1000.0]
    v = TokenValidator(ISSUER, notes_api, http_client=as_http, clock=lambda: clock[0])
    await v.validate(await mint())
    await runtime.keys.rotate()
    await runtime.keys.rotate()
    token = await mint()
    with pytest.raises(InvalidToken, match="unknown key"):
        await v.validate(token)  # within min_refresh_interval of the last fetch: no refetch
    clock[0] += 11
    claims = await v.validate(token)  # unknown kid: one refetch finds the new key
    assert claims["aud"] == RESOURCE and v.fetch_count == 2
    await v.validate(token)
    assert v.fetch_count == 2


async def test_unknown_kid_refetch_is_rate_limited(validator: TokenValidator, runtime: Runtime) -> None:
    await validator.validate(await _forge(runtime))
    key = await runtime.keys.signing_key()
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": RESOURCE, "iat": now, "exp": now + 300}
    validator._attempted_at = 0.0  # the first fetch happened long ago
    for i in range(5):
        forged = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": f"nope-{i}", "typ": "at+jwt"})
        with pytest.raises(InvalidToken, match="unknown key"):
            await validator.validate(forged)
    assert validator.fetch_count == 2  # one refetch for the first unknown kid, none for the rest


async def test_expired_jwks_cache_is_refetched(
    runtime: Runtime, as_http: httpx.AsyncClient, notes_api: str, mint: TokenFactory
) -> None:
    clock = [1000.0]
    v = TokenValidator(ISSUER, notes_api, http_client=as_http, jwks_ttl=300, clock=lambda: clock[0])
    await v.validate(await mint())
    clock[0] += 301
    await v.validate(await mint())
    assert v.fetch_count == 2


def _transport(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_unreachable_issuer_is_unavailable(mint: TokenFactory, notes_api: str) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with _transport(down) as http:
        v = TokenValidator(ISSUER, notes_api, http_client=http)
        token = await mint()
        for _ in range(3):  # still "unavailable" (503), not "unknown key" (401), while no key was ever loaded
            with pytest.raises(ValidatorUnavailable):
                await v.validate(token)
        assert v.fetch_count == 1


async def test_metadata_for_another_issuer_is_refused(mint: TokenFactory, notes_api: str) -> None:
    seen: list[str] = []

    def other(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"issuer": "http://testserver", "jwks_uri": "http://testserver/jwks"})

    async with _transport(other) as http:
        v = TokenValidator(ISSUER, notes_api, http_client=http)
        with pytest.raises(ValidatorUnavailable, match="another issuer"):
            await v.validate(await mint())
    assert seen == ["http://testserver/.well-known/oauth-authorization-server"]


async def test_discovery_falls_back_to_openid_configuration_and_keeps_stale_keys(
    app: Any, mint: TokenFactory, notes_api: str
) -> None:
    inner = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    state = {"down": False}

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/oauth-authorization-server" or state["down"]:
            return httpx.Response(404)
        r = await inner.get(str(request.url))
        return httpx.Response(r.status_code, content=r.content, headers={"content-type": "application/json"})

    clock = [0.0]
    async with _transport(handler) as http, inner:
        v = TokenValidator(ISSUER, notes_api, http_client=http, clock=lambda: clock[0])
        await v.validate(await mint())
        state["down"], clock[0] = True, 10_000.0
        await v.validate(await mint())  # the refresh fails: the cached keys still validate
        assert v.fetch_count == 2


async def test_owned_client_is_closed() -> None:
    v = TokenValidator(ISSUER, RESOURCE)
    await v.aclose()
    assert v._http.is_closed


async def test_es256_tokens_of_an_api_that_opted_in_are_validated(
    runtime: Runtime, as_http: httpx.AsyncClient, mint: TokenFactory, m2m_credentials: dict[str, str]
) -> None:
    await make_api(runtime, "https://ec.example/", signing_alg="ES256")
    await grant(runtime, m2m_credentials["client_id"], "https://ec.example/", ["read:notes"])
    token = await mint("https://ec.example/")
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    v = TokenValidator(ISSUER, "https://ec.example/", http_client=as_http)
    assert (await v.validate(token))["scope"] == "read:notes"
    rsa_kid = jwt.get_unverified_header(await mint(runtime.settings.management_audience))["kid"]
    claims = jwt.decode(token, options={"verify_signature": False})
    attacker = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(claims, attacker, algorithm="ES256", headers={"kid": rsa_kid, "typ": "at+jwt"})
    with pytest.raises(InvalidToken, match="algorithm is not its key's"):
        await v.validate(forged)
