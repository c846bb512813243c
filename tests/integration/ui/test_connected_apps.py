"""The connected-apps page shows everything about an app, and takes back exactly what is asked: the whole app,
one permission, or one device (one refresh-token family, the others keep working). The admin's view of the
user does the same."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from consentry.runtime import Runtime
from consentry.storage.models import AuditEvent, RefreshToken, UserGrant
from consentry.tokens import ids
from tests.integration.flows.conftest import API, grant, make_api, make_app, promote_default_connection
from tests.integration.ui.conftest import (
    PASSWORD,
    USER_EMAIL,
    Browser,
    csrf_of,
    make_person,
    post_form,
    text_of,
)
from tests.support.flow import authorize, consent, exchange, login, pkce_pair


async def _device(client: httpx.AsyncClient, app_id: str, callback: str, email: str = USER_EMAIL) -> dict[str, str]:
    """Sign in on a fresh device (cookie jar), consent if asked, and exchange the code: one refresh family."""
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
    step = await login(client, step, email, PASSWORD)
    if step.on_consent:
        step = await consent(client, step, "accept", duration=30 * 86400)
    assert step.callback is not None, step.page[:500]
    r = await exchange(client, step.params["code"], app_id, callback, verifier)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _refresh(client: httpx.AsyncClient, app_id: str, token: str) -> httpx.Response:
    return await client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "client_id": app_id, "refresh_token": token}
    )


async def _family(rt: Runtime, refresh_token: str) -> str:
    async with rt.db.read() as s:
        found = await s.scalar(
            select(RefreshToken.family_id).where(RefreshToken.token_hash == ids.digest(refresh_token))
        )
    assert found is not None
    return str(found)


async def _setup(runtime: Runtime) -> tuple[str, str]:
    await make_api(runtime)
    await promote_default_connection(runtime)
    await grant(runtime, default=True)
    app = await make_app(runtime, third_party=True)
    return app.client_id, app.callback


async def test_page_shows_registration_expiry_use_and_devices_and_one_device_goes(
    browser: Browser, runtime: Runtime, admin_ids: dict[str, str]
) -> None:
    app_id, callback = await _setup(runtime)
    laptop, phone = browser(), browser()
    on_laptop = await _device(laptop, app_id, callback)
    on_phone = await _device(phone, app_id, callback)
    laptop_family, phone_family = (
        await _family(runtime, on_laptop["refresh_token"]),
        await _family(runtime, on_phone["refresh_token"]),
    )

    page = await laptop.get("/u/apps")
    text = text_of(page.text)
    assert "Registered by the administrator" in text and "Access ends" in text and "Last used" in text
    families = re.findall(r'<li class="device" data-family-id="([^"]+)"', page.text)
    assert sorted(families) == sorted([laptop_family, phone_family])
    assert "Download consent receipt" in text and "Take back" in text and "Revoke all" in text

    r = await laptop.post("/u/apps/revoke-device", data={"family_id": phone_family, "csrf": "forged"})
    assert r.status_code == 403
    r = await post_form(laptop, "/u/apps", "/u/apps/revoke-device", {"family_id": phone_family})
    assert r.status_code == 303 and r.headers["location"].endswith("/u/apps?notice=device")
    page = await laptop.get(r.headers["location"])
    assert "That device was signed out" in text_of(page.text)
    assert re.findall(r'<li class="device" data-family-id="([^"]+)"', page.text) == [laptop_family]

    dead = await _refresh(phone, app_id, on_phone["refresh_token"])
    assert dead.status_code in (400, 403) and dead.json()["error"] == "invalid_grant"
    alive = await _refresh(laptop, app_id, on_laptop["refresh_token"])
    assert alive.status_code == 200, alive.text  # only that family went; the grant and the laptop stay
    async with runtime.db.read() as s:
        assert await s.scalar(select(UserGrant.id).where(UserGrant.client_id == app_id)) is not None
        kinds = (await s.scalars(select(AuditEvent.type))).all()
    assert "refresh_family.revoked" in kinds and "grant.revoked" not in kinds


async def test_taking_back_one_permission_narrows_the_next_refresh(
    browser: Browser, runtime: Runtime, admin_ids: dict[str, str]
) -> None:
    app_id, callback = await _setup(runtime)
    user = browser()
    tokens = await _device(user, app_id, callback)
    assert set(tokens["scope"].split()) >= {"read:posts", "write:posts"}
    async with runtime.db.read() as s:
        grant_id = await s.scalar(select(UserGrant.id).where(UserGrant.client_id == app_id, UserGrant.audience == API))
    r = await post_form(user, "/u/apps", "/u/apps/revoke-scope", {"grant_id": grant_id, "scope": "write:posts"})
    assert r.status_code == 303 and r.headers["location"].endswith("notice=scope")
    refreshed = await _refresh(user, app_id, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert "write:posts" not in refreshed.json()["scope"].split() and "read:posts" in refreshed.json()["scope"]

    # Someone else's grant or device: nothing happens, and nothing is revealed.
    bob = browser()
    await make_person(runtime, "bob@example.com")
    await _device(bob, app_id, callback, "bob@example.com")  # his page has forms (and his CSRF token)
    r = await post_form(bob, "/u/apps", "/u/apps/revoke-scope", {"grant_id": grant_id, "scope": "read:posts"})
    assert r.headers["location"].endswith("notice=gone")
    family = await _family(runtime, refreshed.json()["refresh_token"])
    r = await post_form(bob, "/u/apps", "/u/apps/revoke-device", {"family_id": family})
    assert r.headers["location"].endswith("notice=gone")
    assert (await _refresh(user, app_id, refreshed.json()["refresh_token"])).status_code == 200


async def test_admin_user_view_shows_devices_and_signs_one_out(
    browser: Browser, admin: httpx.AsyncClient, runtime: Runtime, admin_ids: dict[str, str]
) -> None:
    app_id, callback = await _setup(runtime)
    one, two = browser(), browser()
    first = await _device(one, app_id, callback)
    second = await _device(two, app_id, callback)
    base = f"/admin/users/{admin_ids['user']}/authorized-applications"
    page = await admin.get(base)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Registered by the administrator" in text and "Take back" in text
    family = await _family(runtime, second["refresh_token"])
    assert len(re.findall(r'<li class="device" data-family-id="', page.text)) == 2
    r = await admin.post(f"/admin/users/{admin_ids['user']}/devices/{family}/revoke", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"].endswith("notice=device-revoked")
    assert (await _refresh(two, app_id, second["refresh_token"])).json()["error"] == "invalid_grant"
    assert (await _refresh(one, app_id, first["refresh_token"])).status_code == 200
    wrong = await admin.post(
        f"/admin/users/{admin_ids['admin']}/devices/{family}/revoke", data={"csrf": csrf_of(page.text)}
    )
    assert wrong.status_code == 404  # not that user's device
