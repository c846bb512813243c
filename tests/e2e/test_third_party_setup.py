"""The issue's acceptance, in a real browser: the admin does the seeds' whole third-party setup on the
dashboard, a user connects the app through the consent screen, sees it on /u/apps and revokes it (its
refresh token then fails), connects again, and the admin revokes that grant from the user's
Authorized Applications tab. Every page is smoke-checked for accessibility and console errors.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.e2e.a11y import ARTIFACTS, Watched
from tests.e2e.conftest import ADMIN_EMAIL, PASSWORD, PHONE, Server, sign_in

pytestmark = pytest.mark.e2e

API = "https://social.example.com"
PARTNER = "https://partner.example.com"
CALLBACK = f"{PARTNER}/callback"
USER_EMAIL = "alice@example.com"
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def admin_sets_up_third_party_access(tab: Watched, server: Server) -> dict[str, str]:
    """API with read:posts/write:posts, a third-party app, default permissions, a domain-level connection."""
    page, url = tab.page, server.url
    sign_in(tab, server, ADMIN_EMAIL, "/admin", shot="login")
    tab.check("overview")
    assert page.locator(".steps .todo").count() == 5  # nothing set up yet

    page.get_by_role("link", name="APIs", exact=True).click()
    page.get_by_role("link", name="Create API").click()
    tab.check("api-new")
    page.get_by_label("Identifier").fill(API)
    page.get_by_role("textbox", name="Name", exact=True).fill("Social API")
    page.get_by_label("Scope 1 value").fill("read:posts")
    page.get_by_label("Scope 1 description").fill("Read your posts")
    page.get_by_label("Scope 2 value").fill("write:posts")
    page.get_by_label("Scope 2 description").fill("Publish posts for you")
    page.get_by_label("Allow offline access").check()
    page.get_by_role("button", name="Create API").click()
    assert page.locator("#notice").inner_text() == "API created."
    assert page.locator("#api-identifier").inner_text() == API
    assert page.get_by_label("Scope 2 value").input_value() == "write:posts"
    tab.check("api-detail")

    page.goto(f"{url}admin/applications/new?party=third")
    tab.check("app-new")
    page.get_by_role("textbox", name="Name", exact=True).fill("Partner App")
    page.get_by_label("Allowed callback URLs").fill("javascript:alert(1)")
    page.get_by_role("button", name="Create application").click()
    error = page.locator("#f-callbacks-error")  # refused by the service, shown inline, nothing lost
    assert "scheme 'javascript' is not allowed" in error.inner_text()
    assert page.get_by_role("textbox", name="Name", exact=True).input_value() == "Partner App"
    tab.check("app-new-error")
    page.get_by_label("Allowed callback URLs").fill(CALLBACK)
    page.get_by_role("button", name="Create application").click()
    assert page.locator("#notice").inner_text() == "Application created."
    client_id, secret = page.locator("#client-id").inner_text(), page.locator("#client-secret").inner_text()
    assert client_id.startswith("tpc_") and len(secret) > 40
    tab.check("app-secret")

    page.get_by_role("link", name="Client grants").click()
    page.get_by_role("group", name="Social API").get_by_label("read:posts").check()
    page.get_by_role("group", name="Social API").get_by_label("write:posts").check()
    page.get_by_role("button", name="Save defaults for Social API").click()
    assert page.locator("#notice").inner_text().startswith("Default permissions for third-party applications")
    tab.check("client-grants")

    page.get_by_role("link", name="Connections").click()
    page.get_by_role("button", name="Promote Username-Password-Authentication to domain level").click()
    assert page.locator("#notice").inner_text() == "Connection saved."
    assert page.locator("#domain-Username-Password-Authentication").inner_text() == "Domain level"
    tab.check("connections")

    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Create user").click()
    page.get_by_label("Email").fill(USER_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create user").click()
    assert page.locator("#notice").inner_text() == "User created."
    tab.check("user-created")

    page.get_by_role("link", name="Overview").click()
    assert page.locator(".steps .todo").count() == 1  # only the optional descriptions flag is left
    tab.check()
    return {"client_id": client_id, "secret": secret}


def connect(tab: Watched, server: Server, app: dict[str, str], *, login: bool, shot: str | None) -> dict[str, Any]:
    """The user runs the app's authorization request in the browser; the app exchanges the code."""
    page = tab.page
    verifier, challenge = pkce()
    callbacks: list[str] = []

    def partner(route: Any) -> None:
        """The partner's web server (nothing real answers for partner.example.com): record the callback."""
        if route.request.url.startswith(CALLBACK):
            callbacks.append(route.request.url)
        route.fulfill(
            status=200,
            content_type="text/html",
            body='<!doctype html><title>Partner</title><link rel="icon" href="data:,"><h1>Done</h1>',
        )

    page.route(f"{PARTNER}/**", partner)
    query = {
        "client_id": app["client_id"],
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "read:posts write:posts offline_access",
        "audience": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "STATE_VALUE",
    }
    page.goto(f"{server.url}authorize?{urlencode(query)}")
    if login:
        tab.check("user-login")
        page.get_by_label("Email or username").fill(USER_EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Accept").wait_for()
    tab.check(shot)
    consent_text = page.locator("main").inner_text()
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(f"{CALLBACK}*")
    page.wait_for_load_state("load")
    params = {k: v[0] for k, v in parse_qs(urlsplit(callbacks[-1]).query).items()}
    assert params["state"] == "STATE_VALUE" and params["iss"] == server.url
    with server.http() as http:
        r = http.post(
            "oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
                "client_id": app["client_id"],
                "client_secret": app["secret"],
            },
        )
    assert r.status_code == 200, r.text
    return {"tokens": r.json(), "consent_text": consent_text}


def refresh(server: Server, app: dict[str, str], refresh_token: str) -> Any:
    with server.http() as http:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": app["client_id"],
            "client_secret": app["secret"],
        }
        return http.post("oauth/token", data=form)


def test_admin_setup_then_user_connects_and_revokes(server: Server, open_tab: Any) -> None:
    admin = open_tab("admin")
    app = admin_sets_up_third_party_access(admin, server)

    user = open_tab("user")
    first = connect(user, server, app, login=True, shot="consent")
    assert "Partner App" in first["consent_text"] and "Third-party application" in first["consent_text"]
    assert "Posts: read and write your posts" in first["consent_text"]
    assert "partner.example.com" in first["consent_text"]
    assert "long-lived access" in first["consent_text"]
    assert "refresh_token" in first["tokens"]

    page = user.page
    page.goto(f"{server.url}u/apps")
    card = page.locator("article.app-card")
    assert card.count() == 1
    text = card.inner_text()
    for expected in (
        "Partner App",
        "Third-party application",
        "Registered by the administrator",
        "Social API",
        "Posts: read and write your posts",
        "Long-lived access",
        "1 active refresh token",
    ):
        assert expected in text, (expected, text)
    assert "never" not in card.locator("dl").inner_text()  # the code exchange counts as a use
    user.check("connected-apps")
    if os.environ.get("UPDATE_DOC_IMAGES"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACTS / "user-consent.png", DOC_IMAGES / "consent.png")
        shutil.copy(ARTIFACTS / "user-connected-apps.png", DOC_IMAGES / "connected-apps.png")

    phone = open_tab("phone", viewport=PHONE)
    phone.page.context.add_cookies(page.context.cookies())
    phone.page.goto(f"{server.url}u/apps")
    phone.check("connected-apps")
    assert phone.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll

    card.get_by_role("button", name="Revoke").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Revoke access for Partner App?"
    user.check("revoke-confirm")
    page.get_by_role("button", name="Revoke").focus()  # keyboard only: the confirming button takes Enter
    page.keyboard.press("Enter")
    page.wait_for_url("**/u/apps?revoked=*")
    assert page.locator("#notice").inner_text() == "Partner App can no longer access your account."
    assert page.locator("article.app-card").count() == 0
    assert page.locator("#no-apps").is_visible()
    user.check("revoked")

    r = refresh(server, app, first["tokens"]["refresh_token"])
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant", r.text

    # The descriptions flag (C5), then the user connects again: the consent screen shows descriptions.
    admin.page.get_by_role("link", name="Tenant settings").click()
    admin.page.get_by_label("Use scope descriptions on the consent screen").check()
    admin.page.get_by_role("button", name="Save settings").click()
    assert admin.page.locator("#notice").inner_text() == "Tenant settings saved."
    assert admin.page.get_by_label("Use scope descriptions on the consent screen").is_checked()
    admin.check("settings")

    second = connect(user, server, app, login=False, shot="consent-descriptions")
    assert "Read your posts" in second["consent_text"] and "Publish posts for you" in second["consent_text"]
    assert "Posts: read and write" not in second["consent_text"]

    # The admin revokes it from the user's Authorized Applications tab.
    a = admin.page
    a.get_by_role("link", name="Users").click()
    a.get_by_role("link", name=USER_EMAIL).click()
    a.get_by_role("link", name="Authorized Applications").click()
    row = a.locator("#authorized-apps tbody tr")
    assert row.count() == 1 and "Partner App" in row.inner_text() and "Read your posts" in row.inner_text()
    admin.check("authorized-apps")
    row.get_by_role("button", name="Revoke").click()
    assert a.locator("#notice").inner_text().startswith("Authorization revoked.")
    assert a.locator("#no-apps").is_visible()
    admin.check("authorized-apps-revoked")

    r = refresh(server, app, second["tokens"]["refresh_token"])
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant", r.text
    page.goto(f"{server.url}u/apps")
    assert page.locator("article.app-card").count() == 0
    page.get_by_role("link", name="Log out").click()
    assert page.get_by_role("heading", level=1).inner_text() == "You are logged out"
    page.goto(f"{server.url}u/apps")
    assert page.get_by_label("Password").is_visible()  # signed out: back to the login

    a.get_by_role("link", name="Logs").click()
    logs = a.locator("#logs").inner_text()
    for event in (
        "grant.revoked",
        "consent.given",
        "client.created",
        "api.created",
        "client_grant.created",
        "connection.updated",
        "tenant.settings_updated",
        "user.created",
    ):
        assert event in logs, event
    admin.check("logs")


def test_admin_edits_an_application_and_its_api_access(server: Server, open_tab: Any) -> None:
    """Per-application client grants, settings edits with an inline error, delete; a non-admin gets 403."""
    server.process.cli("users", "create", "--email", "bob@example.com", "--password", PASSWORD)
    bob = open_tab("bob")
    bob.page.goto(f"{server.url}u/login?next=/admin")
    bob.page.get_by_label("Email or username").fill("bob@example.com")
    bob.page.get_by_label("Password").fill(PASSWORD)
    bob.page.get_by_role("button", name="Continue").click()
    assert bob.page.get_by_role("heading", level=1).inner_text() == "Not allowed"
    assert "not a dashboard administrator" in bob.page.locator("main").inner_text()

    tab = open_tab("edit", viewport=PHONE)
    page, url = tab.page, server.url
    sign_in(tab, server, ADMIN_EMAIL, "/admin")
    page.goto(f"{url}admin/apis/new")
    page.get_by_label("Identifier").fill("https://calendar.example.com")
    page.get_by_role("textbox", name="Name", exact=True).fill("Calendar API")
    page.get_by_label("Scope 1 value").fill("read:events")
    page.get_by_role("button", name="Create API").click()
    assert page.locator("#notice").inner_text() == "API created."

    page.goto(f"{url}admin/applications/new?party=first")
    page.get_by_role("textbox", name="Name", exact=True).fill("Our Calendar")
    page.get_by_label("Application type").select_option("spa")
    page.get_by_label("Allowed callback URLs").fill("https://calendar.example.com/cb")
    page.get_by_role("button", name="Create application").click()
    assert page.locator("#client-secret").count() == 0  # public: no secret to show
    page.get_by_role("link", name="Continue to the application").click()
    tab.check("app-detail")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_label("Allowed web origins").fill("https://calendar.example.com/path")
    page.get_by_role("button", name="Save settings").click()
    assert "must be an origin" in page.locator("#f-web_origins-error").inner_text()
    page.get_by_label("Allowed web origins").fill("https://calendar.example.com")
    page.get_by_role("button", name="Save settings").click()
    assert page.locator("#notice").inner_text() == "Application saved."
    assert page.get_by_label("Allowed web origins").input_value() == "https://calendar.example.com"

    page.get_by_label("Authorize an API").select_option("https://calendar.example.com")
    page.get_by_role("button", name="Choose scopes…").click()
    tab.check("grant-new")
    page.get_by_role("button", name="Grant access").click()
    assert "Choose at least one scope" in page.locator(".field-error").inner_text()
    page.get_by_label("read:events").check()
    page.get_by_role("button", name="Grant access").click()
    assert page.locator("#notice").inner_text() == "API access granted."
    grant = page.locator(".grant")
    assert grant.get_by_label("read:events").is_checked()
    grant.get_by_label("read:events").uncheck()
    page.get_by_role("button", name="Save access to Calendar API").click()
    assert "Choose at least one scope" in page.locator(".grant .field-error").inner_text()
    page.get_by_role("button", name="Remove access to Calendar API").click()
    assert page.locator("#notice").inner_text() == "Client grant deleted."
    assert page.locator("#no-grants").is_visible()

    page.get_by_role("link", name="Delete this application…").click()
    tab.check("app-delete")
    page.get_by_role("button", name="Delete application").click()
    assert page.locator("#notice").inner_text() == "Application deleted."
    assert page.get_by_role("link", name="Our Calendar").count() == 0
    tab.check("apps-after-delete")
