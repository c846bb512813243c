"""Cross App Access at the resource server: ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` with an
ID-JAG. One passing exchange, then one failing case per check of the draft, each with its error on the wire."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from consentry.oauth.client_rules import JWT_BEARER
from consentry.runtime import Runtime
from consentry.storage import federated_users
from tests.integration.federation.conftest import make_connection
from tests.integration.flows.conftest import API, App, grant, make_api, make_app
from tests.support.upstream_idp import UpstreamIdP

ISSUER = "http://testserver/"
USER_ID = "oidc|corp|corp-user-1"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """The provider on loopback (tests only), and a small ID-JAG rate limit so that one test can reach it."""
    return {"connections_allow_private_addresses": True, "id_jag_rate_limit_per_minute": 3}


async def _user(rt: Runtime, user_id: str = USER_ID) -> None:
    conn = next(c for c in await rt.catalog.connections() if c.name == "corp")
    async with rt.db.write() as unit:
        await federated_users.link_in(
            unit, user_id=user_id, connection_id=conn.id, email=None, email_verified=False, profile={}, now=time.time()
        )


@pytest.fixture
async def agent(runtime: Runtime, idp: UpstreamIdP) -> App:
    """A confidential third-party app with the Cross App Access toggle (the jwt-bearer grant type) and a client
    grant for read:posts; a domain-level connection to the IdP with Cross App Access on; its user."""
    await make_api(runtime)
    app = await make_app(
        runtime, third_party=True, app_type="regular_web", grant_types=["authorization_code", JWT_BEARER]
    )
    await grant(runtime, client_id=app.client_id, scope=["read:posts"])
    await make_connection(runtime, idp, cross_app_access=True)
    await _user(runtime)
    return app


async def _redeem(client: httpx.AsyncClient, app: App, assertion: str, **extra: str) -> httpx.Response:
    data = {
        "grant_type": JWT_BEARER,
        "assertion": assertion,
        "client_id": app.client_id,
        "client_secret": app.secret or "",
        **extra,
    }
    return await client.post("/oauth/token", data=data)


async def test_an_id_jag_is_exchanged_for_an_access_token_only(
    client: httpx.AsyncClient, idp: UpstreamIdP, agent: App
) -> None:
    r = await _redeem(client, agent, idp.id_jag(ISSUER, agent.client_id, resource=API))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}, "no refresh or ID token"
    assert body["scope"] == "read:posts", "the ID-JAG's scopes within the client grant"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == API and claims["client_id"] == agent.client_id
    introspected = await client.post(
        "/oauth/introspect",
        data={"token": body["access_token"], "client_id": agent.client_id, "client_secret": agent.secret or ""},
    )
    assert introspected.json()["active"] is True


async def test_discovery_advertises_the_grant(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/.well-known/openid-configuration")).json()
    assert JWT_BEARER in doc["grant_types_supported"]


def _now() -> int:
    return int(time.time())


CHECKS: list[tuple[str, dict[str, Any], int, str, str]] = [
    ("wrong_typ", {"typ": "JWT"}, 403, "invalid_grant", "typ"),
    ("unknown_issuer", {"iss": "https://unknown.example"}, 403, "invalid_grant", "issuer"),
    ("wrong_aud", {"aud": "https://other-as.example/"}, 403, "invalid_grant", "aud"),
    ("client_id_mismatch", {"client_id": "someone-else"}, 403, "invalid_grant", "client_id"),
    ("unknown_resource", {"resource": "https://unknown-api.example"}, 400, "invalid_target", "resource"),
    ("expired", {"iat": _now() - 600, "exp": _now() - 300}, 403, "invalid_grant", "expired"),
    ("too_long_lived", {"exp": _now() + 3600}, 403, "invalid_grant", "longer"),
    ("bad_signature", {"key": "other"}, 403, "invalid_grant", "signature"),
    ("unknown_user", {"sub": "nobody"}, 403, "invalid_grant", "user"),
    ("no_jti", {"jti": None}, 403, "invalid_grant", "jti"),
]


@pytest.mark.parametrize(("case", "change", "status", "error", "words"), CHECKS, ids=[c[0] for c in CHECKS])
async def test_each_id_jag_check_refuses(
    client: httpx.AsyncClient,
    idp: UpstreamIdP,
    agent: App,
    case: str,
    change: dict[str, Any],
    status: int,
    error: str,
    words: str,
) -> None:
    change = dict(change)
    kwargs: dict[str, Any] = {k: change.pop(k) for k in ("typ", "key") if k in change}
    aud = change.pop("aud", ISSUER)
    client_id = change.pop("client_id", agent.client_id)
    r = await _redeem(client, agent, idp.id_jag(aud, client_id, **kwargs, **{"resource": API, **change}))
    assert r.status_code == status, (case, r.text)
    body = r.json()
    assert body["error"] == error and words in body["error_description"], (case, body)


async def test_a_replayed_jti_is_refused(client: httpx.AsyncClient, idp: UpstreamIdP, agent: App) -> None:
    assertion = idp.id_jag(ISSUER, agent.client_id, resource=API)
    assert (await _redeem(client, agent, assertion)).status_code == 200
    again = await _redeem(client, agent, assertion)
    assert again.status_code == 403 and again.json()["error"] == "invalid_grant"
    assert "already used" in again.json()["error_description"]


async def test_an_issuer_whose_connection_has_xaa_off_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, idp: UpstreamIdP
) -> None:
    await make_api(runtime)
    app = await make_app(runtime, third_party=True, app_type="regular_web", grant_types=[JWT_BEARER])
    await grant(runtime, client_id=app.client_id, scope=["read:posts"])
    await make_connection(runtime, idp)  # cross_app_access not set
    await _user(runtime)
    r = await _redeem(client, app, idp.id_jag(ISSUER, app.client_id, resource=API))
    assert r.status_code == 403 and "Cross App Access is not enabled" in r.json()["error_description"]


async def test_an_app_without_the_toggle_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, idp: UpstreamIdP, agent: App
) -> None:
    plain = await make_app(runtime, third_party=True, app_type="regular_web")
    await grant(runtime, client_id=plain.client_id, scope=["read:posts"])
    r = await _redeem(client, plain, idp.id_jag(ISSUER, plain.client_id, resource=API))
    assert r.status_code == 403 and r.json()["error"] == "unauthorized_client"


async def test_a_non_domain_level_connection_gives_third_party_apps_nothing(
    client: httpx.AsyncClient, runtime: Runtime, idp: UpstreamIdP
) -> None:
    await make_api(runtime)
    app = await make_app(runtime, third_party=True, app_type="regular_web", grant_types=[JWT_BEARER])
    await grant(runtime, client_id=app.client_id, scope=["read:posts"])
    await make_connection(runtime, idp, domain_level=False, cross_app_access=True)
    await _user(runtime)
    r = await _redeem(client, app, idp.id_jag(ISSUER, app.client_id, resource=API))
    assert r.status_code == 403 and "connection" in r.json()["error_description"]


async def test_authlib_redeems_an_id_jag(app: Any, idp: UpstreamIdP, agent: App) -> None:
    """Authlib's OAuth 2 client (its httpx integration) sends the RFC 7523 jwt-bearer grant, client_secret_post."""
    import httpx2
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    async with AsyncOAuth2Client(
        agent.client_id,
        agent.secret,
        token_endpoint_auth_method="client_secret_post",
        transport=httpx2.ASGITransport(app=app),
    ) as oauth:
        token = await oauth.fetch_token(
            "http://testserver/oauth/token",
            grant_type=JWT_BEARER,
            assertion=idp.id_jag(ISSUER, agent.client_id, resource=API),
        )
    assert token["token_type"] == "Bearer" and token["scope"] == "read:posts" and "refresh_token" not in token


async def test_exchanges_are_rate_limited_per_application(
    client: httpx.AsyncClient, idp: UpstreamIdP, agent: App
) -> None:
    for _ in range(3):
        assert (await _redeem(client, agent, idp.id_jag(ISSUER, agent.client_id, resource=API))).status_code == 200
    r = await _redeem(client, agent, idp.id_jag(ISSUER, agent.client_id, resource=API))
    assert r.status_code == 429 and r.json()["error"] == "too_many_requests" and r.headers["retry-after"] == "60"
