"""Login CSRF in a real browser (issue 17): a login form copied from the attacker's own login page and
auto-submitted by a cross-site page leaves the victim signed out, on an error page; normal logins work.

The attacker's page is served by Playwright at ``http://evil.example/`` (another site than the server's
``127.0.0.1``), so the POST is a genuine top-level cross-site form submission in Chromium.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.a11y import Watched
from tests.e2e.conftest import ADMIN_EMAIL, PASSWORD, Server, sign_in
from tests.support.flow import hidden

pytestmark = pytest.mark.e2e
ATTACKER_EMAIL = "mallory@example.com"
EVIL_PAGE = "http://evil.example/login-csrf"


def _attacker_form(server: Server) -> tuple[dict[str, str], Any]:
    """What the attacker copies from their own login page (and the HTTP client that is their browser)."""
    http = server.http()
    page = http.get("u/login", params={"next": "/u/apps"})
    assert page.status_code == 200
    form = {
        "state": hidden(page.text, "state"),
        "csrf": hidden(page.text, "csrf"),
        "username": ATTACKER_EMAIL,
        "password": PASSWORD,
    }
    return form, http


def _auto_submit(server: Server, form: dict[str, str]) -> str:
    fields = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in form.items())
    return (
        f'<!doctype html><html lang="en"><title>Win a prize</title><form id="f" method="post" '
        f'action="{server.url}u/login">{fields}</form><script>document.getElementById("f").submit()</script>'
        "</html>"
    )


def _session_cookies(tab: Watched) -> list[str]:
    return [c["name"] for c in tab.page.context.cookies() if c["name"] == "consentry_session"]


@pytest.fixture(scope="module")
def attacker(server: Server) -> str:
    server.process.cli("admin", "create-user", "--email", ATTACKER_EMAIL, "--password", PASSWORD)
    return ATTACKER_EMAIL


@pytest.mark.parametrize("victim_saw_a_login_page", [False, True], ids=["fresh_browser", "own_login_cookie"])
def test_cross_site_login_form_leaves_the_victim_signed_out(
    server: Server, attacker: str, open_tab: Callable[..., Watched], victim_saw_a_login_page: bool
) -> None:
    form, attacker_http = _attacker_form(server)
    victim = open_tab("login-csrf")
    if victim_saw_a_login_page:  # the victim's browser has a pre-login cookie of its own
        victim.page.goto(f"{server.url}u/login?next=/u/apps")
    victim.page.route(
        EVIL_PAGE, lambda route: route.fulfill(status=200, content_type="text/html", body=_auto_submit(server, form))
    )
    with victim.page.expect_response(f"{server.url}u/login") as answer:
        victim.page.goto(EVIL_PAGE)
    victim.page.wait_for_url(re.compile(re.escape(server.url) + "(u|admin)/"))  # the error page, or signed in
    assert victim.page.url == f"{server.url}u/login", f"the forged login went through: {victim.page.url}"
    assert answer.value.status == 403
    assert "CSRF check failed" in victim.page.content() or "did not send" in victim.page.content()
    assert victim.page.get_by_role("alert").is_visible()
    assert _session_cookies(victim) == [], "the victim's browser holds no session"
    assert victim.page.goto(f"{server.url}u/apps").url.startswith(f"{server.url}u/login"), "still signed out"

    # the attacker's own login, in their own browser, still works with the same form
    r = attacker_http.post("u/login", data=form)
    assert r.status_code == 303 and "consentry_session" in r.cookies
    attacker_http.close()

    # and the victim can sign in normally in the same tab afterwards
    victim.errors.clear()  # the 403 of the forged POST is logged as a console error
    sign_in(victim, server, ADMIN_EMAIL, "/u/apps")
    assert _session_cookies(victim) == ["consentry_session"]


def test_normal_login_sets_a_scoped_pre_login_cookie(server: Server, open_tab: Callable[..., Watched]) -> None:
    tab = open_tab("login-cookie")
    tab.page.goto(f"{server.url}u/login?next=/u/apps")
    [cookie] = [c for c in tab.page.context.cookies() if c["name"] == "consentry_login"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/u/login"
    assert not cookie["secure"]  # the live server's issuer is http; https issuers get Secure and __Secure-
    tab.page.goto(f"{server.url}u/login?next=/admin")  # a second login page: the same cookie, both forms valid
    again = [c for c in tab.page.context.cookies() if c["name"] == "consentry_login"]
    assert [c["value"] for c in again] == [cookie["value"]]
    tab.page.get_by_label("Email or username").fill(ADMIN_EMAIL)
    tab.page.get_by_label("Password").fill(PASSWORD)
    tab.page.get_by_role("button", name="Continue").click()
    tab.page.wait_for_url(f"{server.url}admin")
    tab.check("after-login")
