"""Access follows every later decision (issue 16): a refresh re-makes the /authorize decision from current data,
and revoking what a token was minted under makes that access token inactive at once — on both databases."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select, update

from consentry.clock import FrozenClock
from consentry.runtime import Runtime
from consentry.storage.models import AuditEvent, RefreshToken, User
from tests.integration.flows.conftest import API, PASSWORD, App, grant, make_app, promote_default_connection
from tests.integration.oauth.test_userinfo import user_tokens
from tests.support.flow import authorize, consent, exchange, hidden, login, pkce_pair

SCOPE = "openid offline_access read:posts write:posts"


def _params(app: App, challenge: str, scope: str = SCOPE) -> dict[str, str]:
    return {
        "client_id": app.client_id,
        "redirect_uri": app.callback,
        "response_type": "code",
        "scope": scope,
        "audience": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s1",
    }


async def tokens_for(client: httpx.AsyncClient, app: App, scope: str = SCOPE) -> dict[str, Any]:
    return await user_tokens(client, app, scope)


async def refresh(client: httpx.AsyncClient, app: App, token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "client_id": app.client_id, "refresh_token": token}
    if app.secret:
        data["client_secret"] = app.secret
    return await client.post("/oauth/token", data=data)


async def introspect(client: httpx.AsyncClient, creds: dict[str, str], token: str) -> dict[str, Any]:
    r = await client.post("/oauth/introspect", data={"token": token, **creds})
    assert r.status_code == 200, r.text
    return dict(r.json())


def admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def client_grant_id(client: httpx.AsyncClient, mgmt_token: str, **query: str) -> str:
    r = await client.get("/api/v2/client-grants", params={"audience": API, **query}, headers=admin(mgmt_token))
    assert r.status_code == 200, r.text
    return str(r.json()[0]["id"])


def assert_invalid_grant(r: httpx.Response) -> None:
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant", r.text  # Auth0's status for it


@pytest.fixture
async def partner(client: httpx.AsyncClient, social: Runtime, mgmt_token: str) -> App:
    """A third-party app whose only client grant is its own (read and write posts); the tenant lets third-party
    apps receive identity (pairwise subjects), so their tokens reach /userinfo."""
    r = await client.patch(
        "/api/v2/tenants/settings", json={"flags": {"third_party_oidc_identity": True}}, headers=admin(mgmt_token)
    )
    assert r.status_code == 200, r.text
    app = await make_app(social, third_party=True)
    await grant(social, client_id=app.client_id, scope=["read:posts", "write:posts"])
    return app


async def test_tokens_name_the_grant_and_family_they_were_minted_under(
    client: httpx.AsyncClient, social: Runtime, partner: App, mgmt_token: str
) -> None:
    claims = jwt.decode((await tokens_for(client, partner))["access_token"], options={"verify_signature": False})
    grants = (
        await client.get("/api/v2/grants", params={"client_id": partner.client_id}, headers=admin(mgmt_token))
    ).json()
    assert [g["id"] for g in grants] == [claims["grant_id"]]
    async with social.db.read() as s:
        assert await s.scalar(select(RefreshToken.family_id)) == claims["family_id"]
    assert claims["exp"] - claims["iat"] == 3600, "third-party access tokens are capped at one hour"


async def test_refresh_after_narrowing_the_client_grant_returns_only_what_is_still_allowed(
    client: httpx.AsyncClient, partner: App, mgmt_token: str
) -> None:
    tokens = await tokens_for(client, partner)
    assert tokens["scope"] == SCOPE
    grant_id = await client_grant_id(client, mgmt_token, client_id=partner.client_id)
    r = await client.patch(
        f"/api/v2/client-grants/{grant_id}", json={"scope": ["read:posts"]}, headers=admin(mgmt_token)
    )
    assert r.status_code == 200, r.text
    r = await refresh(client, partner, tokens["refresh_token"])
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "openid offline_access read:posts"
    assert jwt.decode(r.json()["access_token"], options={"verify_signature": False})["scope"] == r.json()["scope"]


@pytest.mark.parametrize("change", ["delete_client_grant", "deny_all", "demote_connection", "all_scopes_removed"])
async def test_refresh_after_access_is_withdrawn_is_invalid_grant_and_revokes_the_family(
    client: httpx.AsyncClient, social: Runtime, partner: App, mgmt_token: str, change: str
) -> None:
    tokens = await tokens_for(client, partner)
    grant_id = await client_grant_id(client, mgmt_token, client_id=partner.client_id)
    if change == "delete_client_grant":
        r = await client.delete(f"/api/v2/client-grants/{grant_id}", headers=admin(mgmt_token))
    elif change == "deny_all":
        api_id = (await client.get("/api/v2/resource-servers", headers=admin(mgmt_token))).json()
        api_id = next(a["id"] for a in api_id if a["identifier"] == API)
        r = await client.patch(
            f"/api/v2/resource-servers/{api_id}",
            headers=admin(mgmt_token),
            json={"subject_type_authorization": {"user": {"policy": "deny_all"}}},
        )
    elif change == "demote_connection":
        await promote_default_connection(social, domain_level=False)
        r = httpx.Response(204)
    else:
        r = await client.patch(f"/api/v2/client-grants/{grant_id}", json={"scope": []}, headers=admin(mgmt_token))
    assert r.status_code in (200, 204), r.text
    r = await refresh(client, partner, tokens["refresh_token"])
    assert_invalid_grant(r)
    async with social.db.read() as s:
        rows = (await s.scalars(select(RefreshToken).where(RefreshToken.client_id == partner.client_id))).all()
        assert rows and all(row.revoked_at is not None for row in rows), "the family is revoked"
        types = set((await s.scalars(select(AuditEvent.type).where(AuditEvent.client_id == partner.client_id))).all())
    assert "fertft" in types, "the refusal is audited"


async def test_code_exchange_makes_the_decision_again(
    client: httpx.AsyncClient, social: Runtime, partner: App, mgmt_token: str
) -> None:
    verifier, challenge = pkce_pair()
    step = await login(client, await authorize(client, _params(partner, challenge)), "alice@example.com", PASSWORD)
    step = await consent(client, step)
    grant_id = await client_grant_id(client, mgmt_token, client_id=partner.client_id)
    await client.patch(f"/api/v2/client-grants/{grant_id}", json={"scope": ["read:posts"]}, headers=admin(mgmt_token))
    r = await exchange(client, step.params["code"], partner.client_id, partner.callback, verifier)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "openid offline_access read:posts"


async def test_code_exchange_after_the_grant_is_deleted_is_refused_and_consumes_the_code(
    client: httpx.AsyncClient, partner: App, mgmt_token: str
) -> None:
    verifier, challenge = pkce_pair()
    step = await login(client, await authorize(client, _params(partner, challenge)), "alice@example.com", PASSWORD)
    step = await consent(client, step)
    grant_id = await client_grant_id(client, mgmt_token, client_id=partner.client_id)
    assert (await client.delete(f"/api/v2/client-grants/{grant_id}", headers=admin(mgmt_token))).status_code == 204
    r = await exchange(client, step.params["code"], partner.client_id, partner.callback, verifier)
    assert_invalid_grant(r)
    assert "no client grant" in r.json()["error_description"]


@pytest.mark.parametrize(
    "revocation",
    [
        "management_api",
        "apps_page_action",
        "block_user",
        "delete_user",
        "oauth_revoke",
        "delete_client",
        "delete_client_grant",
    ],
)
async def test_revocation_reaches_the_access_token(
    client: httpx.AsyncClient,
    social: Runtime,
    partner: App,
    mgmt_token: str,
    m2m_credentials: dict[str, str],
    revocation: str,
) -> None:
    tokens = await tokens_for(client, partner)
    access = tokens["access_token"]
    assert (await introspect(client, m2m_credentials, access))["active"] is True
    assert (await client.get("/userinfo", headers=admin(access))).status_code == 200
    user_id = (await client.get("/api/v2/users", headers=admin(mgmt_token))).json()[0]["user_id"]
    if revocation == "management_api":
        grants = (await client.get("/api/v2/grants", params={"user_id": user_id}, headers=admin(mgmt_token))).json()
        r = await client.delete(f"/api/v2/grants/{grants[0]['id']}", headers=admin(mgmt_token))
    elif revocation == "apps_page_action":  # the signed-in user revokes the app on /u/apps
        confirm = await client.get("/u/apps/revoke", params={"client_id": partner.client_id})
        form = {"client_id": partner.client_id, "csrf": hidden(confirm.text, "csrf")}
        r = await client.post("/u/apps/revoke", data=form)
        assert r.status_code == 303 and "revoked=" in r.headers["location"]
        r = httpx.Response(204)
    elif revocation == "block_user":
        r = await client.patch(f"/api/v2/users/{user_id}", json={"blocked": True}, headers=admin(mgmt_token))
    elif revocation == "delete_user":
        r = await client.delete(f"/api/v2/users/{user_id}", headers=admin(mgmt_token))
    elif revocation == "oauth_revoke":
        r = await client.post("/oauth/revoke", data={"client_id": partner.client_id, "token": tokens["refresh_token"]})
    elif revocation == "delete_client":
        r = await client.delete(f"/api/v2/clients/{partner.client_id}", headers=admin(mgmt_token))
    else:
        grant_id = await client_grant_id(client, mgmt_token, client_id=partner.client_id)
        r = await client.delete(f"/api/v2/client-grants/{grant_id}", headers=admin(mgmt_token))
    assert r.status_code in (200, 204), r.text
    assert await introspect(client, m2m_credentials, access) == {"active": False}
    r = await client.get("/userinfo", headers=admin(access))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


async def test_narrowed_client_grant_narrows_the_introspected_scope(
    client: httpx.AsyncClient, partner: App, mgmt_token: str, m2m_credentials: dict[str, str]
) -> None:
    access = (await tokens_for(client, partner))["access_token"]
    grant_id = await client_grant_id(client, mgmt_token, client_id=partner.client_id)
    await client.patch(f"/api/v2/client-grants/{grant_id}", json={"scope": ["read:posts"]}, headers=admin(mgmt_token))
    answer = await introspect(client, m2m_credentials, access)
    assert answer["active"] is True and answer["scope"] == "openid offline_access read:posts"


async def test_rotating_a_client_secret_does_not_end_its_tokens(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str, m2m_credentials: dict[str, str]
) -> None:
    app = await make_app(social, third_party=False, app_type="regular_web")
    tokens = await tokens_for(client, app, "openid read:posts")
    r = await client.post(f"/api/v2/clients/{app.client_id}/rotate-secret", headers=admin(mgmt_token))
    assert r.status_code == 200, r.text
    assert (await introspect(client, m2m_credentials, tokens["access_token"]))["active"] is True


async def test_a_deleted_admin_clients_management_token_is_refused(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str, m2m_credentials: dict[str, str]
) -> None:
    from consentry.services.clients import delete_client

    assert (await client.get("/api/v2/clients", headers=admin(mgmt_token))).status_code == 200
    async with social.db.transaction() as s:
        await delete_client(social, s, m2m_credentials["client_id"])
    social.catalog.invalidate()
    r = await client.get("/api/v2/clients", headers=admin(mgmt_token))
    assert r.status_code == 401 and r.json()["errorCode"] == "invalid_token"


async def test_m2m_token_ends_with_its_client_grant(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str, m2m_credentials: dict[str, str]
) -> None:
    app = await make_app(social, third_party=False, app_type="non_interactive", grant_types=["client_credentials"])
    await grant(social, client_id=app.client_id, scope=["read:posts"], subject_type="client")
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "audience": API,
            "client_id": app.client_id,
            "client_secret": app.secret,
        },
    )
    access = r.json()["access_token"]
    assert (await introspect(client, m2m_credentials, access))["active"] is True
    grant_id = await client_grant_id(client, mgmt_token, client_id=app.client_id)
    assert (await client.delete(f"/api/v2/client-grants/{grant_id}", headers=admin(mgmt_token))).status_code == 204
    assert await introspect(client, m2m_credentials, access) == {"active": False}


# -- refresh token settings (per client, as Auth0 defines them) --------------------------------------------


@pytest.fixture
def frozen(social: Runtime) -> FrozenClock:
    clock = FrozenClock()
    social.clock = clock
    return clock


async def first_party(social: Runtime, **refresh_token: Any) -> App:
    settings = {"rotation_type": "rotating", "expiration_type": "expiring", **refresh_token}
    return await make_app(social, third_party=False, app_type="regular_web", refresh_token=settings)


async def test_a_retry_within_the_leeway_succeeds_and_outside_it_is_reuse(
    client: httpx.AsyncClient, social: Runtime, frozen: FrozenClock
) -> None:
    app = await first_party(social, leeway=30)
    first = (await tokens_for(client, app, "openid offline_access read:posts"))["refresh_token"]
    assert (await refresh(client, app, first)).status_code == 200  # its response is "lost"
    frozen.advance(10)
    retried = await refresh(client, app, first)
    assert retried.status_code == 200, "a retry within the leeway is answered again"
    frozen.advance(25)  # 35 s after the rotation: outside the leeway
    r = await refresh(client, app, first)
    assert_invalid_grant(r)
    assert (await refresh(client, app, retried.json()["refresh_token"])).status_code == 403, "the family is revoked"


async def test_without_leeway_a_second_use_is_reuse(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await first_party(social)
    first = (await tokens_for(client, app, "openid offline_access read:posts"))["refresh_token"]
    assert (await refresh(client, app, first)).status_code == 200
    assert_invalid_grant(await refresh(client, app, first))


async def test_rotation_keeps_the_family_absolute_lifetime(
    client: httpx.AsyncClient, social: Runtime, frozen: FrozenClock
) -> None:
    app = await first_party(social, token_lifetime=1000, infinite_token_lifetime=False)
    token = (await tokens_for(client, app, "openid offline_access read:posts"))["refresh_token"]
    for _ in range(3):
        frozen.advance(300)
        r = await refresh(client, app, token)
        assert r.status_code == 200, r.text
        token = r.json()["refresh_token"]
    frozen.advance(101)  # 1,001 s after the family began, 101 s after its newest token
    assert_invalid_grant(await refresh(client, app, token))


async def test_idle_lifetime_expires_an_unused_token_and_use_extends_it(
    client: httpx.AsyncClient, social: Runtime, frozen: FrozenClock
) -> None:
    app = await first_party(social, idle_token_lifetime=100, infinite_idle_token_lifetime=False)
    token = (await tokens_for(client, app, "openid offline_access read:posts"))["refresh_token"]
    frozen.advance(90)
    r = await refresh(client, app, token)
    assert r.status_code == 200
    frozen.advance(90)  # 180 s after the first token, 90 s after the second
    r = await refresh(client, app, r.json()["refresh_token"])
    assert r.status_code == 200
    frozen.advance(101)
    assert_invalid_grant(await refresh(client, app, r.json()["refresh_token"]))


async def test_non_rotating_idle_lifetime_is_extended_by_each_use(
    client: httpx.AsyncClient, social: Runtime, frozen: FrozenClock
) -> None:
    app = await first_party(
        social, rotation_type="non-rotating", idle_token_lifetime=100, infinite_idle_token_lifetime=False
    )
    token = (await tokens_for(client, app, "openid offline_access read:posts"))["refresh_token"]
    for _ in range(3):
        frozen.advance(90)
        assert (await refresh(client, app, token)).status_code == 200
    frozen.advance(101)
    assert_invalid_grant(await refresh(client, app, token))


async def test_non_expiring_tokens_do_not_expire(
    client: httpx.AsyncClient, social: Runtime, frozen: FrozenClock
) -> None:
    app = await first_party(social, rotation_type="non-rotating", expiration_type="non-expiring")
    token = (await tokens_for(client, app, "openid offline_access read:posts"))["refresh_token"]
    frozen.advance(10 * 365 * 86400)
    assert (await refresh(client, app, token)).status_code == 200


async def test_a_blocked_user_cannot_refresh(client: httpx.AsyncClient, social: Runtime, partner: App) -> None:
    tokens = await tokens_for(client, partner)
    async with social.db.transaction() as s:
        await s.execute(update(User).values(blocked=True))
    r = await refresh(client, partner, tokens["refresh_token"])
    assert_invalid_grant(r)


# -- audit: every mint, refusal and configuration write leaves one event --------------------------------------


async def log_types(client: httpx.AsyncClient, mgmt_token: str, client_id: str) -> list[str]:
    r = await client.get(
        "/api/v2/logs", params={"q": f'client_id:"{client_id}"', "per_page": 100}, headers=admin(mgmt_token)
    )
    assert r.status_code == 200, r.text
    return sorted(e["details"]["event"] if e["type"] == "sapi" else e["type"] for e in r.json())


async def test_every_mint_and_refusal_is_audited(
    client: httpx.AsyncClient, social: Runtime, partner: App, mgmt_token: str
) -> None:
    tokens = await tokens_for(client, partner)
    assert (await refresh(client, partner, tokens["refresh_token"])).status_code == 200
    types = await log_types(client, mgmt_token, partner.client_id)
    assert types.count("seacft") == 1 and types.count("sertft") == 1 and "client_grant.created" in types

    m2m = await make_app(social, third_party=False, app_type="non_interactive", grant_types=["client_credentials"])
    form = {
        "grant_type": "client_credentials",
        "audience": API,
        "client_id": m2m.client_id,
        "client_secret": m2m.secret,
    }
    assert (await client.post("/oauth/token", data=form)).status_code == 403  # no client grant yet
    await grant(social, client_id=m2m.client_id, scope=["read:posts"], subject_type="client")
    assert (await client.post("/oauth/token", data=form)).status_code == 200
    assert (await client.post("/oauth/token", data={**form, "scope": "write:posts"})).status_code == 403
    types = await log_types(client, mgmt_token, m2m.client_id)
    assert types.count("seccft") == 1 and types.count("feccft") == 2, types
