"""What the pages do: each action goes through the Management API's service (so the API sees the result),
is audited with the admin as actor, and revoking (by the user or an admin) kills the refresh tokens at once."""

from __future__ import annotations

import re
from urllib.parse import unquote

import httpx
from sqlalchemy import select

from consentry.runtime import Runtime
from consentry.storage.models import AuditEvent, Client
from consentry.tokens import ids
from tests.integration.flows.conftest import API, CALLBACK, grant, make_api, make_app, promote_default_connection
from tests.integration.ui.conftest import PASSWORD, USER_EMAIL, Browser, csrf_of, post_form, text_of
from tests.support.flow import authorize, consent, exchange, login, pkce_pair


async def events(rt: Runtime, type_: str) -> list[AuditEvent]:
    async with rt.db.read() as s:
        return list((await s.scalars(select(AuditEvent).where(AuditEvent.type == type_))).all())


async def test_third_party_setup_through_the_dashboard_is_what_the_api_sees(
    admin: httpx.AsyncClient, mgmt: httpx.AsyncClient, runtime: Runtime, admin_ids: dict[str, str]
) -> None:
    r = await post_form(
        admin,
        "/admin/apis/new",
        "/admin/apis/new",
        {
            "identifier": API,
            "name": "Social API",
            "scope_value": ["read:posts", "write:posts", ""],
            "scope_description": ["Read your posts", "Publish posts for you", ""],
            "scope_optional": ["1"],
            "allow_offline_access": "1",
            "user_policy": "allow_all",
            "client_policy": "require_client_grant",
            "token_dialect": "rfc9068_profile",
        },
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?notice=api-created")
    api = (await mgmt.get("/api/v2/resource-servers")).json()[-1]
    assert api["identifier"] == API and api["allow_offline_access"] is True
    assert api["scopes"] == [
        {"value": "read:posts", "description": "Read your posts"},
        {"value": "write:posts", "description": "Publish posts for you", "optional": True},
    ]
    assert api["skip_consent_for_verifiable_first_party_clients"] is False  # unticked box: false, not "unchanged"

    r = await post_form(
        admin,
        "/admin/applications/new",
        "/admin/applications/new",
        {
            "party": "third",
            "name": "Partner App",
            "app_type": "regular_web",
            "callbacks": f"{CALLBACK}\r\nhttps://partner.example.com/other",
        },
    )
    assert r.status_code == 200 and "Copy the client secret now" in r.text
    client_id = re.search(r'id="client-id">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    secret = re.search(r'id="client-secret">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    app = (await mgmt.get(f"/api/v2/clients/{client_id}")).json()
    assert client_id.startswith("tpc_") and app["is_first_party"] is False
    assert app["third_party_security_mode"] == "strict" and app["redirection_policy"] == "open_redirect_protection"
    assert app["callbacks"] == [CALLBACK, "https://partner.example.com/other"]
    assert app["grant_types"] == ["authorization_code", "refresh_token"]  # defaults when none is ticked
    async with runtime.db.read() as s:
        assert ids.matches(secret, (await s.get(Client, client_id)).secret_hash)  # type: ignore[union-attr]

    r = await post_form(
        admin,
        "/admin/client-grants",
        "/admin/client-grants/defaults",
        {"audience": API, "scope": ["read:posts", "write:posts"]},
    )
    assert r.status_code == 303
    r = await post_form(
        admin,
        f"/admin/applications/{client_id}/grants/new?audience={API}",
        f"/admin/applications/{client_id}/grants/new",
        {"audience": API, "subject_type": "user", "scope": ["read:posts"]},
    )
    assert r.status_code == 303
    grants = {
        (g.get("client_id"), g.get("default_for")): g
        for g in (await mgmt.get("/api/v2/client-grants")).json()
        if g["audience"] == API
    }
    assert grants[(None, "third_party_clients")]["scope"] == ["read:posts", "write:posts"]
    assert grants[(client_id, None)]["scope"] == ["read:posts"] and grants[(client_id, None)]["subject_type"] == "user"
    detail = text_of((await admin.get(f"/admin/applications/{client_id}")).text)
    assert "Save access to Social API" in detail and "Defaults for third-party applications" not in detail

    conns = (await mgmt.get("/api/v2/connections")).json()
    r = await post_form(
        admin, "/admin/connections", f"/admin/connections/{conns[0]['id']}", {"is_domain_connection": "true"}
    )
    assert r.status_code == 303
    assert (await mgmt.get(f"/api/v2/connections/{conns[0]['id']}")).json()["is_domain_connection"] is True

    r = await post_form(
        admin,
        "/admin/settings",
        "/admin/settings",
        {
            "flag_use_scope_descriptions_for_consent": "1",
            "flag_enable_client_connections": "1",
            "flag_enable_sso": "1",
            "client_id_metadata_document_supported": "1",
            "default_directory": "Username-Password-Authentication",
        },
    )
    assert r.status_code == 303
    flags = (await mgmt.get("/api/v2/tenants/settings")).json()["flags"]
    assert flags["use_scope_descriptions_for_consent"] is True and flags["enable_dynamic_client_registration"] is False

    overview = text_of((await admin.get("/admin")).text)
    assert overview.count("Done") == 5

    actor = admin_ids["admin"]
    for type_ in (
        "api.created",
        "client.created",
        "client_grant.created",
        "connection.updated",
        "tenant.settings_updated",
    ):
        found = await events(runtime, type_)
        assert any(e.details.get("actor") == actor for e in found), type_  # (the M2M client is the CLI's)


async def test_rotate_secret_and_delete_application(
    admin: httpx.AsyncClient, runtime: Runtime, admin_ids: dict[str, str]
) -> None:
    app = await make_app(runtime, third_party=True, app_type="regular_web")
    page = f"/admin/applications/{app.client_id}"
    r = await post_form(admin, page, f"{page}/rotate-secret", {})
    new_secret = re.search(r'id="client-secret">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    async with runtime.db.read() as s:
        row = await s.get(Client, app.client_id)
        assert row is not None and ids.matches(new_secret, row.secret_hash)
        assert not ids.matches(app.secret, row.secret_hash)
    assert (await events(runtime, "client.secret_rotated"))[0].details["actor"] == admin_ids["admin"]

    spa = await make_app(runtime, third_party=True, app_type="spa")
    spa_page = f"/admin/applications/{spa.client_id}"
    r = await post_form(admin, spa_page, f"{spa_page}/rotate-secret", {})
    assert "have no secret to rotate" in text_of(r.text)

    r = await post_form(admin, f"{page}/delete", f"{page}/delete", {})
    assert r.status_code == 303 and r.headers["location"].endswith("/admin/applications?notice=app-deleted")
    assert (await admin.get(page)).status_code == 404
    assert "Application deleted." in text_of((await admin.get("/admin/applications?notice=app-deleted")).text)


async def _connect(client: httpx.AsyncClient, app_id: str, callback: str, *, first: bool) -> dict[str, str]:
    verifier, challenge = pkce_pair()
    step = await authorize(
        client,
        {
            "client_id": app_id,
            "redirect_uri": callback,
            "response_type": "code",
            "scope": "read:posts write:posts offline_access",
            "audience": API,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    if first:
        step = await login(client, step, USER_EMAIL, PASSWORD)
    step = await consent(client, step, "accept")
    r = await exchange(client, step.params["code"], app_id, callback, verifier)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _refresh(client: httpx.AsyncClient, app_id: str, token: str) -> httpx.Response:
    return await client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "client_id": app_id, "refresh_token": token}
    )


async def test_user_revokes_on_connected_apps_and_the_refresh_token_dies(
    browser: Browser, runtime: Runtime, admin_ids: dict[str, str]
) -> None:
    await make_api(runtime)
    await promote_default_connection(runtime)
    await grant(runtime, default=True)
    app = await make_app(runtime, third_party=True)
    other = await make_app(runtime, third_party=True, callback="https://other.example.com/cb")
    stranger = await make_app(runtime, third_party=True, callback="https://stranger.example.com/cb")
    user = browser()
    tokens = await _connect(user, app.client_id, app.callback, first=True)
    await _connect(user, other.client_id, other.callback, first=False)

    page = await user.get("/u/apps", params={"revoked": app.client_id})  # a crafted link claims nothing
    assert 'id="notice"' not in page.text
    page = await user.get("/u/apps", params={"revoked": stranger.client_id})  # an app this user never connected
    assert 'id="notice"' not in page.text and "can no longer access" not in page.text
    cards = re.findall(r'<article[^>]*data-client-id="([^"]+)"', page.text)
    assert cards == [app.client_id, other.client_id]
    text = text_of(page.text)
    assert "Posts: read and write your posts" in text and "Third-party application" in text
    assert "Registered by the administrator" in text and "1 active refresh token" in text

    confirm = await user.get("/u/apps/revoke", params={"client_id": app.client_id})
    assert "Revoke access for Partner App?" in text_of(confirm.text) and ">Revoke</button>" in confirm.text
    r = await user.post("/u/apps/revoke", data={"client_id": app.client_id, "csrf": "forged"})
    assert r.status_code == 403
    r = await user.post("/u/apps/revoke", data={"client_id": app.client_id, "csrf": csrf_of(confirm.text)})
    assert r.status_code == 303 and r.headers["location"].endswith(f"/u/apps?revoked={app.client_id}")
    page = await user.get(r.headers["location"])
    assert "Partner App can no longer access your account." in text_of(page.text)
    assert re.findall(r'<article[^>]*data-client-id="([^"]+)"', page.text) == [other.client_id]

    r = await _refresh(user, app.client_id, tokens["refresh_token"])
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"
    revoked = await events(runtime, "grant.revoked")
    assert len(revoked) == 1 and revoked[0].user_id == admin_ids["user"]
    assert revoked[0].details["actor"] == admin_ids["user"] and revoked[0].details["refresh_tokens_revoked"] == 1

    r = await user.get("/u/apps/revoke", params={"client_id": app.client_id})  # nothing left to confirm
    assert r.status_code == 303 and r.headers["location"].endswith("/u/apps")


async def test_admin_revokes_from_the_authorized_applications_tab(
    browser: Browser, admin: httpx.AsyncClient, runtime: Runtime, admin_ids: dict[str, str]
) -> None:
    await make_api(runtime)
    await promote_default_connection(runtime)
    await grant(runtime, default=True)
    app = await make_app(runtime, third_party=True)
    user = browser()
    tokens = await _connect(user, app.client_id, app.callback, first=True)

    tab = f"/admin/users/{admin_ids['user']}/authorized-applications"
    page = await admin.get(tab)
    assert "Partner App" in text_of(page.text) and "Posts: read and write your posts" in text_of(page.text)
    grant_id = re.search(r"/grants/(ugr_[A-Za-z0-9]+)/revoke", page.text).group(1)  # type: ignore[union-attr]

    form = {"csrf": csrf_of(page.text)}
    r = await admin.post(f"/admin/users/{admin_ids['admin']}/grants/{grant_id}/revoke", data=form)
    assert r.status_code == 404  # the grant is not this user's
    r = await admin.post(f"/admin/users/{admin_ids['user']}/grants/{grant_id}/revoke", data=form)
    assert r.status_code == 303 and unquote(r.headers["location"]).endswith(f"{tab}?notice=revoked")
    page = await admin.get(r.headers["location"])
    assert "Authorization revoked." in text_of(page.text) and 'id="no-apps"' in page.text
    r = await _refresh(user, app.client_id, tokens["refresh_token"])
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"
    assert (await events(runtime, "grant.revoked"))[0].details["actor"] == admin_ids["admin"]
    assert "grant.revoked" in (await admin.get("/admin/logs", params={"q": 'type:"grant.revoked"'})).text
    r = await admin.get("/admin/logs", params={"q": "nope:x"})
    assert "unknown field" in text_of(r.text)
