"""``/oauth/revoke`` (RFC 7009): refresh tokens die with their family; everything else still gets 200."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from sqlalchemy import select

from consentry.runtime import Runtime
from consentry.storage.models import AuditEvent, RefreshToken, UserGrant
from consentry.tokens import ids
from tests.integration.flows.conftest import App, grant, make_app, social  # noqa: F401
from tests.integration.oauth.test_userinfo import bearer, set_tenant, spa, user_tokens, web_app


async def refresh(client: httpx.AsyncClient, app: App, token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "client_id": app.client_id, "refresh_token": token}
    if app.secret:
        data["client_secret"] = app.secret
    return await client.post("/oauth/token", data=data)


def assert_empty_200(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text
    assert r.content == b""
    assert r.headers["cache-control"] == "no-store"


async def family_rows(rt: Runtime, token: str) -> list[RefreshToken]:
    async with rt.db.read() as s:
        row = await s.scalar(select(RefreshToken).where(RefreshToken.token_hash == ids.digest(token)))
        assert row is not None
        return list((await s.scalars(select(RefreshToken).where(RefreshToken.family_id == row.family_id))).all())


async def test_public_client_revokes_and_the_whole_family_dies(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    app = await spa(social)
    first = (await user_tokens(client, app))["refresh_token"]
    r = await refresh(client, app, first)
    assert r.status_code == 200, r.text
    second = r.json()["refresh_token"]
    # spa-js posts a form with client_id only
    assert_empty_200(await client.post("/oauth/revoke", data={"client_id": app.client_id, "token": second}))
    rows = await family_rows(social, first)
    assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)
    r = await refresh(client, app, second)
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"


async def test_revoking_an_older_member_kills_the_newest(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    app = await spa(social)
    first = (await user_tokens(client, app))["refresh_token"]
    second = (await refresh(client, app, first)).json()["refresh_token"]
    assert_empty_200(await client.post("/oauth/revoke", data={"client_id": app.client_id, "token": first}))
    assert (await refresh(client, app, second)).json()["error"] == "invalid_grant"


async def test_confidential_client_json_body_and_basic_auth(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    app = await web_app(social)
    assert app.secret
    one = (await user_tokens(client, app))["refresh_token"]
    two = (await user_tokens(client, app))["refresh_token"]
    # auth0-python RevokeToken.revoke_refresh_token: JSON {client_id, token, client_secret}
    r = await client.post("/oauth/revoke", json={"client_id": app.client_id, "client_secret": app.secret, "token": one})
    assert_empty_200(r)
    basic = base64.b64encode(f"{app.client_id}:{app.secret}".encode()).decode()
    r = await client.post(
        "/oauth/revoke",
        data={"token": two, "token_type_hint": "refresh_token"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert_empty_200(r)
    for token in (one, two):
        assert (await refresh(client, app, token)).json()["error"] == "invalid_grant"


async def test_wrong_secret_is_401_and_the_token_survives(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    app = await web_app(social)
    token = (await user_tokens(client, app))["refresh_token"]
    r = await client.post("/oauth/revoke", data={"client_id": app.client_id, "client_secret": "wrong", "token": token})
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_client", "error_description": "Client authentication failed."}
    basic = base64.b64encode(f"{app.client_id}:wrong".encode()).decode()
    r = await client.post("/oauth/revoke", data={"token": token}, headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic ")
    r = await client.post("/oauth/revoke", data={"token": token})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert (await refresh(client, app, token)).status_code == 200


async def test_confidential_client_without_secret_is_401(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    app = await web_app(social)
    token = (await user_tokens(client, app))["refresh_token"]
    r = await client.post("/oauth/revoke", data={"client_id": app.client_id, "token": token})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


async def test_unknown_token_and_access_token_get_200(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    app = await spa(social)
    tokens = await user_tokens(client, app)
    for token in ("unknown-token", "x" * 300, tokens["access_token"]):
        for hint in ("refresh_token", "access_token", "something_else"):
            r = await client.post(
                "/oauth/revoke", data={"client_id": app.client_id, "token": token, "token_type_hint": hint}
            )
            assert_empty_200(r)
    # access tokens are self-contained: still usable after "revocation" (documented)
    assert (await client.get("/userinfo", headers=bearer(tokens["access_token"]))).status_code == 200


async def test_another_clients_token_is_left_alone(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    owner, other = await spa(social), await spa(social)
    token = (await user_tokens(client, owner))["refresh_token"]
    assert_empty_200(await client.post("/oauth/revoke", data={"client_id": other.client_id, "token": token}))
    assert all(row.revoked_at is None for row in await family_rows(social, token))
    assert (await refresh(client, owner, token)).status_code == 200


async def test_missing_token_and_bad_bodies(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    app = await spa(social)
    r = await client.post("/oauth/revoke", data={"client_id": app.client_id})
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_request", "error_description": "Missing required parameter: token"}
    r = await client.post("/oauth/revoke", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = await client.post(
        "/oauth/revoke",
        content=b"token=a&token=b&client_id=" + app.client_id.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = await client.post("/oauth/revoke", content=b"<x/>", headers={"content-type": "text/xml"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert (await client.get("/oauth/revoke")).status_code == 405


async def _third_party_tokens(client: httpx.AsyncClient, rt: Runtime) -> tuple[App, dict[str, Any]]:
    app = await make_app(rt, third_party=True)
    await grant(rt, default=True)
    return app, await user_tokens(client, app, scope="read:posts offline_access")


async def _grants(rt: Runtime, client_id: str) -> list[UserGrant]:
    async with rt.db.read() as s:
        return list((await s.scalars(select(UserGrant).where(UserGrant.client_id == client_id))).all())


async def test_grant_survives_revocation_by_default(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    app, tokens = await _third_party_tokens(client, social)
    assert_empty_200(
        await client.post("/oauth/revoke", data={"client_id": app.client_id, "token": tokens["refresh_token"]})
    )
    assert len(await _grants(social, app.client_id)) == 1
    async with social.db.read() as s:
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.type == "refresh_token.revoked"))).all()
    assert len(events) == 1 and events[0].client_id == app.client_id and events[0].details["family_revoked"] == 1


async def test_tenant_flag_deletes_the_user_grant(client: httpx.AsyncClient, social: Runtime) -> None:  # noqa: F811
    await set_tenant(social, flags={"revoke_refresh_token_grant": True})
    app, tokens = await _third_party_tokens(client, social)
    other_family = await user_tokens(client, app, scope="read:posts offline_access")  # same consent, new family
    assert len(await _grants(social, app.client_id)) == 1
    assert_empty_200(
        await client.post("/oauth/revoke", data={"client_id": app.client_id, "token": tokens["refresh_token"]})
    )
    assert await _grants(social, app.client_id) == []
    # the grant's other refresh tokens die with it
    assert (await refresh(client, app, other_family["refresh_token"])).json()["error"] == "invalid_grant"
