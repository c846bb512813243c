"""The connected-apps page in a real browser: an app used from two devices shows how it was registered, its API
and permissions, when access was given and ends, its last use and both devices; signing one device out kills
only that refresh-token family, taking back one permission narrows the next refresh, and the admin's view of
the user shows the same. Screenshots: docs/images/connected-apps-devices.png and admin-user-devices.png
(``UPDATE_DOC_IMAGES=1``).
"""

from __future__ import annotations

import os
import shutil
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.e2e.a11y import ARTIFACTS, Watched
from tests.e2e.conftest import LAPTOP, PASSWORD, Server
from tests.e2e.test_third_party_setup import (
    API,
    CALLBACK,
    DOC_IMAGES,
    PARTNER,
    USER_EMAIL,
    admin_sets_up_third_party_access,
    pkce,
    refresh,
)

pytestmark = pytest.mark.e2e


def sign_in_on_device(tab: Watched, server: Server, app: dict[str, str]) -> dict[str, Any]:
    """A fresh device (browser profile) signs in to the app: consent only where the grant does not cover it."""
    page = tab.page
    verifier, challenge = pkce()
    callbacks: list[str] = []

    def partner(route: Any) -> None:
        if route.request.url.startswith(CALLBACK):
            callbacks.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>Partner</title><h1>Done</h1>")

    page.route(f"{PARTNER}/**", partner)
    query = {
        "client_id": app["client_id"],
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "read:posts write:posts offline_access",
        "audience": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "S",
    }
    page.goto(f"{server.url}authorize?{urlencode(query)}")
    page.get_by_label("Email or username").fill(USER_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(lambda u: u.startswith(CALLBACK) or "/u/consent" in u)
    if "/u/consent" in page.url:
        page.get_by_role("button", name="Accept").click()
        page.wait_for_url(f"{CALLBACK}*")
    page.wait_for_load_state("load")
    code = parse_qs(urlsplit(callbacks[-1]).query)["code"][0]
    with server.http() as http:
        r = http.post(
            "oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
                "client_id": app["client_id"],
                "client_secret": app["secret"],
            },
        )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_devices_are_listed_and_one_is_signed_out(server: Server, open_tab: Any) -> None:
    admin = open_tab("devices-admin")
    app = admin_sets_up_third_party_access(admin, server)
    laptop, phone = open_tab("devices-laptop", viewport=LAPTOP), open_tab("devices-phone")
    on_laptop = sign_in_on_device(laptop, server, app)
    on_phone = sign_in_on_device(phone, server, app)

    page = laptop.page
    page.goto(f"{server.url}u/apps")
    card = page.locator("article.app-card")
    text = card.inner_text()
    for expected in ("Partner App", "Registered by the administrator", "Social API", "Access", "Last used", "Devices"):
        assert expected in text, (expected, text)
    devices = card.locator("li.device")
    assert devices.count() == 2
    laptop.check("connected-apps-devices")
    if os.environ.get("UPDATE_DOC_IMAGES"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACTS / "devices-laptop-connected-apps-devices.png", DOC_IMAGES / "connected-apps-devices.png")

    # Newest use first: the phone's family is the first row.
    devices.first.get_by_role("button", name="Sign out this device").click()
    page.wait_for_url("**/u/apps?notice=device")
    assert page.locator("#notice").inner_text().startswith("That device was signed out")
    assert page.locator("article.app-card li.device").count() == 1
    laptop.check("device-signed-out")
    r = refresh(server, app, on_phone["refresh_token"])
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant", r.text
    r = refresh(server, app, on_laptop["refresh_token"])
    assert r.status_code == 200, r.text  # the laptop's family and the grant are untouched
    laptop_token = r.json()["refresh_token"]

    # Take back one permission: the next refresh no longer carries it.
    page.locator("article.app-card").get_by_role("button", name="Take back write:posts").click()
    page.wait_for_url("**/u/apps?notice=scope")
    laptop.check("permission-taken-back")
    r = refresh(server, app, laptop_token)
    assert r.status_code == 200 and "write:posts" not in r.json()["scope"].split(), r.text

    # The admin sees the same on the user's Authorized Applications tab.
    a = admin.page
    a.get_by_role("link", name="Users", exact=True).click()
    a.get_by_role("link", name=USER_EMAIL).click()
    a.get_by_role("link", name="Authorized Applications").click()
    row = a.locator("#authorized-apps tbody tr")
    assert row.count() == 1 and "Registered by the administrator" in row.inner_text()
    assert row.locator("li.device").count() == 1
    admin.check("admin-user-devices")
    if os.environ.get("UPDATE_DOC_IMAGES"):
        shutil.copy(ARTIFACTS / "devices-admin-admin-user-devices.png", DOC_IMAGES / "admin-user-devices.png")
    row.locator("li.device").get_by_role("button", name="Sign out").click()
    assert a.locator("#notice").inner_text().startswith("Device signed out")
    r = refresh(server, app, r.json()["refresh_token"])
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant", r.text
