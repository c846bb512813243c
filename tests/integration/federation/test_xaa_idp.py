"""Consentry as the enterprise IdP: an ID token it issued, exchanged (RFC 8693) for an ID-JAG under the admin's
Cross App Access policy. One passing exchange checked claim by claim (and by the resource side's own ID-JAG
checks), then one failing case per rule, each with its error on the wire."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from consentry.federation.id_jag import JagExpected, unverified, validate
from consentry.oauth.client_rules import TOKEN_EXCHANGE
from consentry.oauth.exchange_rules import ACCESS_TOKEN, ID_JAG, ID_TOKEN
from consentry.runtime import Runtime
from consentry.tokens.jwt import sign
from tests.integration.flows.conftest import PASSWORD, App, make_app, make_user, promote_default_connection

ISSUER = "http://testserver/"
SAAS = "https://saas.example/"
NOTES = "https://saas.example/mcp"
POLICIES = "/api/v2/cross-app-access-policies"


@pytest.fixture
async def agent(runtime: Runtime) -> App:
    """A first-party app that signs its users in (password grant for brevity) and may exchange tokens."""
    await make_user(runtime)
    await promote_default_connection(runtime)
    return await make_app(runtime, third_party=False, app_type="regular_web", grant_types=["password", TOKEN_EXCHANGE])


@pytest.fixture
async def policy(mgmt: httpx.AsyncClient, agent: App) -> dict[str, Any]:
    r = await mgmt.post(
        POLICIES,
        json={
            "client_id": agent.client_id,
            "audience": SAAS,
            "resource": NOTES,
            "scope": ["read:notes", "write:notes"],
            "resource_client_id": "agent-at-saas",
        },
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def id_token(client: httpx.AsyncClient, app: App, email: str = "alice@example.com") -> str:
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": email,
            "password": PASSWORD,
            "scope": "openid",
            "client_id": app.client_id,
            "client_secret": app.secret or "",
        },
    )
    assert r.status_code == 200, r.text
    return str(r.json()["id_token"])


async def ask(client: httpx.AsyncClient, app: App, subject_token: str, **extra: str | None) -> httpx.Response:
    data = {
        "grant_type": TOKEN_EXCHANGE,
        "requested_token_type": ID_JAG,
        "subject_token": subject_token,
        "subject_token_type": ID_TOKEN,
        "audience": SAAS,
        "resource": NOTES,
        "client_id": app.client_id,
        "client_secret": app.secret or "",
        **extra,
    }
    return await client.post("/oauth/token", data={k: v for k, v in data.items() if v is not None})


async def test_an_id_token_is_exchanged_for_an_id_jag(
    client: httpx.AsyncClient, runtime: Runtime, agent: App, policy: dict[str, Any]
) -> None:
    token = await id_token(client, agent)
    client.headers.pop("Authorization", None)
    r = await ask(client, agent, token, scope="read:notes")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "issued_token_type", "token_type", "expires_in", "scope"}
    assert body["issued_token_type"] == ID_JAG and body["token_type"] == "N_A" and body["scope"] == "read:notes"
    jag = body["access_token"]
    header, claims = unverified(jag)
    assert header["typ"] == "oauth-id-jag+jwt" and header["alg"] == "RS256"
    sub = jwt.decode(token, options={"verify_signature": False})["sub"]
    assert claims["iss"] == ISSUER and claims["sub"] == sub and claims["aud"] == SAAS
    assert claims["client_id"] == "agent-at-saas", "the app's client_id at the resource AS, from the policy"
    assert claims["resource"] == NOTES and claims["scope"] == "read:notes"
    assert claims["exp"] - claims["iat"] == body["expires_in"] == 300 and claims["jti"] and "auth_time" in claims
    jwks = (await client.get("/.well-known/jwks.json")).json()
    expected = JagExpected(ISSUER, SAAS, "agent-at-saas", ("RS256",), time.time())
    assert validate(jag, header, jwks, expected)["sub"] == sub, "the resource side's own checks accept it"


async def test_without_scope_the_policy_scopes_are_carried(
    client: httpx.AsyncClient, agent: App, policy: dict[str, Any]
) -> None:
    r = await ask(client, agent, await id_token(client, agent))
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "read:notes write:notes"


async def test_discovery_advertises_token_exchange(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/.well-known/openid-configuration")).json()
    assert TOKEN_EXCHANGE in doc["grant_types_supported"]


def _claims_now(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "iat": now, "exp": now + 600, "auth_time": now, **changes}


FAILURES: list[tuple[str, dict[str, Any], int, str, str]] = [
    ("no_subject_token", {"subject_token": None}, 400, "invalid_request", "subject_token"),
    ("no_subject_token_type", {"subject_token_type": None}, 400, "invalid_request", "subject_token_type"),
    ("subject_type_access_token", {"subject_token_type": ACCESS_TOKEN}, 400, "invalid_request", "of type"),
    ("with_actor_token", {"actor_token": "x", "actor_token_type": ACCESS_TOKEN}, 400, "invalid_request", "actor"),
    ("unknown_requested_type", {"requested_token_type": "urn:x"}, 400, "invalid_request", "requested_token_type"),
    ("garbage_subject", {"subject_token": "a.b.c"}, 403, "invalid_grant", "not a valid ID token"),
    ("no_audience", {"audience": None}, 400, "invalid_request", "audience"),
    ("unknown_audience", {"audience": "https://evil.example/"}, 400, "invalid_target", "audience"),
    ("unknown_resource", {"resource": "https://saas.example/other"}, 400, "invalid_target", "resource"),
    ("scope_outside_policy", {"scope": "admin:everything"}, 400, "invalid_scope", "scopes"),
]


@pytest.mark.parametrize(("case", "change", "status", "error", "words"), FAILURES, ids=[f[0] for f in FAILURES])
async def test_each_refusal(
    client: httpx.AsyncClient,
    agent: App,
    policy: dict[str, Any],
    case: str,
    change: dict[str, Any],
    status: int,
    error: str,
    words: str,
) -> None:
    token = await id_token(client, agent)
    r = await ask(client, agent, **{"subject_token": token, **change})
    assert r.status_code == status, (case, r.text)
    assert r.json()["error"] == error and words in r.json()["error_description"], (case, r.json())


async def test_an_access_token_is_not_an_id_token(
    client: httpx.AsyncClient, agent: App, policy: dict[str, Any]
) -> None:
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "alice@example.com",
            "password": PASSWORD,
            "scope": "openid",
            "client_id": agent.client_id,
            "client_secret": agent.secret or "",
        },
    )
    r = await ask(client, agent, r.json()["access_token"])
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant", r.text


async def test_an_id_token_of_another_app_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, agent: App, policy: dict[str, Any]
) -> None:
    other = await make_app(runtime, third_party=False, app_type="regular_web", grant_types=["password", TOKEN_EXCHANGE])
    r = await ask(client, agent, await id_token(client, other))
    assert r.status_code == 403 and "issued to this client" in r.json()["error_description"], r.text


@pytest.mark.parametrize(
    ("case", "changes"),
    [
        ("expired", {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}),
        ("other_issuer", {"iss": "https://x/"}),
    ],
)
async def test_an_expired_or_foreign_id_token_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, agent: App, policy: dict[str, Any], case: str, changes: dict[str, Any]
) -> None:
    sub = jwt.decode(await id_token(client, agent), options={"verify_signature": False})["sub"]
    token = await sign(runtime.keys, _claims_now(sub=sub, aud=agent.client_id, **changes), "JWT")
    r = await ask(client, agent, token)
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant", (case, r.text)


async def test_a_blocked_user_gets_no_id_jag(
    client: httpx.AsyncClient, mgmt: httpx.AsyncClient, agent: App, policy: dict[str, Any]
) -> None:
    token = await id_token(client, agent)
    sub = jwt.decode(token, options={"verify_signature": False})["sub"]
    assert (await mgmt.patch(f"/api/v2/users/{sub}", json={"blocked": True})).status_code == 200
    client.headers.pop("Authorization", None)
    r = await ask(client, agent, token)
    assert r.status_code == 403 and "blocked" in r.json()["error_description"], r.text


async def test_an_app_without_the_grant_type_is_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_user(runtime)
    await promote_default_connection(runtime)
    plain = await make_app(runtime, third_party=False, app_type="regular_web", grant_types=["password"])
    r = await ask(client, plain, await id_token(client, plain))
    assert r.status_code == 403 and r.json()["error"] == "unauthorized_client", r.text


async def test_an_app_without_a_policy_is_refused(client: httpx.AsyncClient, agent: App) -> None:
    r = await ask(client, agent, await id_token(client, agent))
    assert r.status_code == 400 and r.json()["error"] == "invalid_target", r.text


async def test_the_policy_names_the_login_client_whose_sub_the_id_jag_carries(
    client: httpx.AsyncClient, mgmt: httpx.AsyncClient, runtime: Runtime, agent: App
) -> None:
    """The SaaS signs users in through its own (third-party, pairwise) client here: the ID-JAG's ``sub`` is that."""
    await mgmt.patch("/api/v2/tenants/settings", json={"flags": {"third_party_oidc_identity": True}})
    saas_login = await make_app(runtime, third_party=True, app_type="regular_web")
    r = await mgmt.post(
        POLICIES,
        json={
            "client_id": agent.client_id,
            "audience": SAAS,
            "scope": ["read:notes"],
            "subject_client_id": saas_login.client_id,
        },
    )
    assert r.status_code == 201, r.text
    client.headers.pop("Authorization", None)
    token = await id_token(client, agent)
    r = await ask(client, agent, token, resource=None)
    assert r.status_code == 200, r.text
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert (
        claims["sub"].startswith("pw|")
        and claims["sub"] != jwt.decode(token, options={"verify_signature": False})["sub"]
    )
    assert claims["client_id"] == agent.client_id and "resource" not in claims


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """A small exchange rate limit, so that one test can reach it."""
    return {"id_jag_rate_limit_per_minute": 4}


async def test_exchanges_are_rate_limited_per_application(
    client: httpx.AsyncClient, agent: App, policy: dict[str, Any]
) -> None:
    token = await id_token(client, agent)
    for _ in range(4):
        assert (await ask(client, agent, token)).status_code == 200
    r = await ask(client, agent, token)
    assert r.status_code == 429 and r.json()["error"] == "too_many_requests" and r.headers["retry-after"] == "60"


async def test_the_user_sees_the_policy_as_granted_by_the_organization(
    app: Any, agent: App, policy: dict[str, Any]
) -> None:
    from tests.integration.ui.conftest import sign_in, text_of

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER.rstrip("/")) as browser:
        await sign_in(browser, "alice@example.com", "/u/apps")
        page = await browser.get("/u/apps")
    assert page.status_code == 200 and 'id="org-grants"' in page.text, page.text[:800]
    text = text_of(page.text)
    assert "Granted by your organization" in text and "Our App" in text and NOTES in text
    assert "read:notes, write:notes" in text
