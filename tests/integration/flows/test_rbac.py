"""RBAC over the whole flow, on both databases: for an API with ``enforce_policies``, a user's tokens hold only the
permissions the user has (directly or through a role), the consent screen never shows a scope the user lacks,
and taking a permission away drops its scope at the next refresh. Roles and permissions are managed through the
Management API, as an operator would."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
from sqlalchemy import select

from consentry.runtime import Runtime
from consentry.storage.models import User
from tests.integration.flows.conftest import API, PASSWORD, App, grant, make_app
from tests.support.flow import authorize, consent, exchange, login, pkce_pair

READ, WRITE = "read:posts", "write:posts"


def _admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _params(app: App, challenge: str, scope: str) -> dict[str, str]:
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


async def _rbac_on(client: httpx.AsyncClient, mgmt_token: str, dialect: str = "access_token_authz") -> None:
    r = await client.patch(
        f"/api/v2/resource-servers/{API}",
        json={"enforce_policies": True, "token_dialect": dialect},
        headers=_admin(mgmt_token),
    )
    assert r.status_code == 200 and r.json()["enforce_policies"] is True, r.text


async def _alice(rt: Runtime) -> str:
    async with rt.db.read() as s:
        user_id = await s.scalar(select(User.user_id).where(User.email == "alice@example.com"))
    assert user_id
    return user_id


async def _role_with(client: httpx.AsyncClient, mgmt_token: str, user_id: str, *permissions: str) -> str:
    h = _admin(mgmt_token)
    r = await client.post("/api/v2/roles", json={"name": "Readers", "description": "read posts"}, headers=h)
    assert r.status_code == 200, r.text
    role_id = str(r.json()["id"])
    body = {"permissions": [{"resource_server_identifier": API, "permission_name": p} for p in permissions]}
    assert (await client.post(f"/api/v2/roles/{role_id}/permissions", json=body, headers=h)).status_code == 201
    r = await client.post(f"/api/v2/users/{user_id}/roles", json={"roles": [role_id]}, headers=h)
    assert r.status_code == 204, r.text
    return role_id


def _asked(page_text: str) -> str:
    return page_text.split("It will be able to")[1].split("Already allowed")[0]


async def _code_flow(client: httpx.AsyncClient, app: App, scope: str, *, expect_consent: bool = True) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    step = await authorize(client, _params(app, challenge, scope))
    if step.on_login:
        step = await login(client, step, "alice@example.com", PASSWORD)
    if expect_consent:
        assert step.on_consent, step.page[:500]
        step = await consent(client, step)
    r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier, app.secret)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_scope_the_user_lacks_is_never_shown_nor_granted(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str
) -> None:
    await _rbac_on(client, mgmt_token)
    app = await make_app(social, third_party=True)
    await grant(social, client_id=app.client_id, scope=[READ, WRITE])
    await _role_with(client, mgmt_token, await _alice(social), READ)
    _, challenge = pkce_pair()
    step = await login(
        client, await authorize(client, _params(app, challenge, f"{READ} {WRITE}")), "alice@example.com", PASSWORD
    )
    assert step.on_consent
    asked = _asked(step.text)
    assert "Posts: read your posts" in asked
    assert "write" not in step.text.lower(), "a scope the user lacks is not on the consent screen"
    assert WRITE not in step.page
    tokens = await _code_flow(client, app, f"{READ} {WRITE}")
    assert tokens["scope"] == READ
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["scope"] == READ and claims["permissions"] == [READ]


async def test_rbac_off_keeps_every_requested_scope(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str
) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, client_id=app.client_id, scope=[READ, WRITE])
    await _role_with(client, mgmt_token, await _alice(social), READ)
    tokens = await _code_flow(client, app, f"{READ} {WRITE}")
    assert tokens["scope"] == f"{READ} {WRITE}"
    assert "permissions" not in jwt.decode(tokens["access_token"], options={"verify_signature": False})


async def test_a_third_party_app_asking_only_for_what_the_user_lacks_is_refused(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str
) -> None:
    await _rbac_on(client, mgmt_token)
    app = await make_app(social, third_party=True)
    await grant(social, client_id=app.client_id, scope=[READ, WRITE])
    _, challenge = pkce_pair()
    step = await login(client, await authorize(client, _params(app, challenge, WRITE)), "alice@example.com", PASSWORD)
    assert step.callback is None, "a third-party app under open_redirect_protection gets no error redirect"
    assert step.response.status_code == 403 and "none of the permissions" in step.text, step.text[:300]


async def test_taking_a_permission_away_drops_the_scope_at_the_next_refresh(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str
) -> None:
    await _rbac_on(client, mgmt_token, dialect="rfc9068_profile_authz")
    app = await make_app(social, third_party=True)
    await grant(social, client_id=app.client_id, scope=[READ, WRITE])
    user_id = await _alice(social)
    await _role_with(client, mgmt_token, user_id, READ)
    direct = {"permissions": [{"resource_server_identifier": API, "permission_name": WRITE}]}
    r = await client.post(f"/api/v2/users/{user_id}/permissions", json=direct, headers=_admin(mgmt_token))
    assert r.status_code == 201, r.text
    tokens = await _code_flow(client, app, f"offline_access {READ} {WRITE}")
    assert tokens["scope"] == f"offline_access {READ} {WRITE}"
    r = await client.request("DELETE", f"/api/v2/users/{user_id}/permissions", json=direct, headers=_admin(mgmt_token))
    assert r.status_code == 204, r.text
    data = {"grant_type": "refresh_token", "client_id": app.client_id, "refresh_token": tokens["refresh_token"]}
    r = await client.post("/oauth/token", data=data)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == f"offline_access {READ}"
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["permissions"] == [READ]
    data["refresh_token"] = r.json()["refresh_token"]
    # the role goes too: nothing of the API is left, so the next refresh is refused
    roles = (await client.get(f"/api/v2/users/{user_id}/roles", headers=_admin(mgmt_token))).json()
    r = await client.delete(f"/api/v2/roles/{roles[0]['id']}", headers=_admin(mgmt_token))
    assert r.status_code == 204, r.text
    r = await client.post("/oauth/token", data=data)
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant", r.text


async def test_a_first_party_app_gets_only_the_users_permissions(
    client: httpx.AsyncClient, social: Runtime, mgmt_token: str
) -> None:
    await _rbac_on(client, mgmt_token)
    app = await make_app(social, third_party=False, app_type="regular_web")
    await _role_with(client, mgmt_token, await _alice(social), WRITE)
    tokens = await _code_flow(client, app, f"openid {READ} {WRITE}", expect_consent=False)
    assert tokens["scope"] == f"openid {WRITE}"
