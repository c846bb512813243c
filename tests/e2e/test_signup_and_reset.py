"""Signup, email verification and password reset in Chromium, with the email read from a real SMTP server.

The server (``consentry serve``) sends to a local aiosmtpd server (``CONSENTRY_SMTP_*``). A first-party app's
``/authorize?screen_hint=signup`` opens the signup screen; the new user lands on the app's callback signed in and
verifies the address from the email's link. In a fresh browser, "Forgot your password?" sends a reset link;
its page sets a new password; afterwards the old password is refused on the login page and the new one works.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import httpx
import pytest

from tests.e2e.a11y import Watched
from tests.e2e.conftest import PASSWORD, Server
from tests.support.flow import pkce_pair
from tests.support.live_server import live_server
from tests.support.smtp import Inbox, link_in, smtp_server

pytestmark = pytest.mark.e2e
CALLBACK = "https://app.example.com/callback"
EMAIL = "newcomer@example.com"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[Server]:
    env = {
        f"CONSENTRY_{k.upper()}": str(v).lower() if isinstance(v, bool) else str(v) for k, v in inbox.settings.items()
    }
    with live_server(tmp_path_factory.mktemp("e2e-mail-server"), env) as (url, process):
        yield Server(url, process)


@pytest.fixture(scope="module")
def app_client_id(server: Server) -> str:
    creds = server.process.cli("admin", "create-client", "--name", "ops")
    with server.http() as http:
        token = http.post(
            "oauth/token",
            data={"grant_type": "client_credentials", "audience": f"{server.url}api/v2/", **creds},
        ).json()["access_token"]
        r = http.post(
            "api/v2/clients",
            headers={"Authorization": f"Bearer {token}"},
            json={"name": "Our App", "app_type": "regular_web", "callbacks": [CALLBACK]},
        )
    assert r.status_code == 201, r.text
    return str(r.json()["client_id"])


def _authorize_url(server: Server, client_id: str, **extra: str) -> str:
    _, challenge = pkce_pair()
    params = {
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{server.url}authorize?{urlencode(params)}"


def _app_tab(open_tab: Callable[..., Watched], prefix: str) -> Watched:
    """A fresh browser whose requests to the app (its callback) are answered by a stub page."""
    tab = open_tab(prefix)
    tab.page.route(
        re.compile(r"https://app\.example\.com/.*"),
        lambda route: route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>app</title>"),
    )
    return tab


def _log_in(tab: Watched, server: Server, client_id: str, password: str) -> None:
    page = tab.page
    page.goto(_authorize_url(server, client_id))
    page.get_by_label("Email or username").fill(EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()


def test_signup_verify_then_reset_the_password(
    server: Server, inbox: Inbox, app_client_id: str, open_tab: Callable[..., Watched]
) -> None:
    tab = _app_tab(open_tab, "signup")
    page = tab.page
    page.goto(_authorize_url(server, app_client_id, screen_hint="signup"))
    page.wait_for_url(re.compile(re.escape(f"{server.url}u/login/signup") + r"\?state="))
    tab.check("signup")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(re.escape(CALLBACK) + r"\?code="))

    verification = inbox.next()
    assert verification["To"] == EMAIL
    page.goto(link_in(verification))
    assert page.locator("#notice").text_content() == "Your email was verified. You can continue using the application."
    tab.check("verified")

    fresh = _app_tab(open_tab, "reset")
    fresh.page.goto(_authorize_url(server, app_client_id))
    fresh.page.get_by_role("link", name="Forgot your password?").click()
    fresh.check("forgot")
    fresh.page.get_by_label("Email address").fill(EMAIL)
    fresh.page.get_by_role("button", name="Continue").click()
    assert "We've just sent you an email" in (fresh.page.locator("#sent").text_content() or "")

    reset = inbox.next()
    assert reset["To"] == EMAIL and "Reset your" in reset["Subject"]
    fresh.page.goto(link_in(reset))
    fresh.check("reset-form")
    fresh.page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    fresh.page.get_by_label("Confirm the new password", exact=True).fill(NEW_PASSWORD)
    fresh.page.get_by_role("button", name="Change password").click()
    assert fresh.page.locator("#notice").text_content() == "Your password has been changed successfully."
    fresh.check("reset-done")

    old = _app_tab(open_tab, "old-password")
    _log_in(old, server, app_client_id, PASSWORD)
    assert old.page.get_by_role("alert").text_content() == "Wrong email or password."
    new = _app_tab(open_tab, "new-password")
    _log_in(new, server, app_client_id, NEW_PASSWORD)
    new.page.wait_for_url(re.compile(re.escape(CALLBACK) + r"\?code="))
    with httpx.Client(base_url=server.url) as http:  # the link worked once
        assert http.get(link_in(reset).removeprefix(server.url)).status_code == 400
