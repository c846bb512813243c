"""Login CSRF bound to the browser (``login/browser_binding.py``, issue 17).

The attacker copies ``state`` and ``csrf`` from their own ``GET /u/login`` and has a victim's browser post
them with the attacker's password: the victim stays signed out (403 error page, no session cookie), while
the attacker's own browser, which holds the pre-login cookie the token was made for, still signs in.
Also: several tabs, another server process with the same key-encryption key, https and path issuers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from consentry.app import create_app
from consentry.clock import Clock
from consentry.login import browser_binding
from consentry.login.sessions import COOKIE as SESSION
from consentry.runtime import Runtime
from consentry.storage.models import LoginSession
from tests.conftest import ISSUER, make_settings
from tests.integration.flows.conftest import PASSWORD, make_user
from tests.support.flow import hidden

ATTACKER = "mallory@example.com"
VICTIM = "alice@example.com"


def _browser(app: Any, base_url: str = ISSUER.rstrip("/")) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


async def _form(client: httpx.AsyncClient, username: str = ATTACKER, path: str = "/u/login") -> dict[str, str]:
    page = await client.get(path, params={"next": "/u/apps"})
    assert page.status_code == 200, page.text
    return {
        "state": hidden(page.text, "state"),
        "csrf": hidden(page.text, "csrf"),
        "username": username,
        "password": PASSWORD,
    }


async def _sessions(rt: Runtime) -> int:
    async with rt.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(LoginSession)) or 0)


@pytest.fixture
async def people(social: Runtime) -> Runtime:
    await make_user(social, ATTACKER)
    return social


@pytest.mark.parametrize("victim_has_cookie", [False, True], ids=["fresh_browser", "own_login_cookie"])
async def test_a_copied_login_form_leaves_the_victim_signed_out(
    app: Any, people: Runtime, victim_has_cookie: bool
) -> None:
    async with _browser(app) as attacker, _browser(app) as victim:
        form = await _form(attacker)
        if victim_has_cookie:
            await _form(victim, VICTIM)  # the victim once saw a login page: a pre-login cookie of its own
        r = await victim.post("/u/login", data=form)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
        assert ("CSRF check failed" if victim_has_cookie else "did not send this sign-in page") in r.text
        assert "location" not in r.headers and SESSION not in r.cookies and SESSION not in victim.cookies
        assert await _sessions(people) == 0
        r = await attacker.post("/u/login", data=form)  # the attacker's own browser: the same form works
        assert r.status_code == 303 and SESSION in r.cookies
        assert await _sessions(people) == 1


@pytest.mark.parametrize("tamper", ["no_cookie", "other_cookie", "empty_token", "token_of_other_cookie"])
async def test_the_token_must_match_this_browsers_cookie(app: Any, people: Runtime, tamper: str) -> None:
    async with _browser(app) as browser, _browser(app) as other:
        form = await _form(browser, VICTIM)
        other_form = await _form(other, VICTIM)
        name = browser_binding.COOKIE
        if tamper == "no_cookie":
            browser.cookies.clear()
        elif tamper == "other_cookie":
            browser.cookies.clear()
            browser.cookies.set(name, other.cookies[name], domain="testserver.local", path="/u/login")
        elif tamper == "empty_token":
            form["csrf"] = ""
        else:  # a valid token of the same transaction shape, made for the other browser's cookie
            form["csrf"] = other_form["csrf"]
        r = await browser.post("/u/login", data=form)
        assert r.status_code == 403 and SESSION not in r.cookies
        assert await _sessions(people) == 0


async def test_pre_login_cookie_attributes_and_reuse(client: httpx.AsyncClient, people: Runtime) -> None:
    first = await client.get("/u/login")
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{browser_binding.COOKIE}=")
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/u/login" in lowered
    assert "max-age=900" in lowered and "secure" not in lowered  # the test issuer is http
    value = client.cookies[browser_binding.COOKIE]
    tab_one = {
        "state": hidden(first.text, "state"),
        "csrf": hidden(first.text, "csrf"),
        "username": VICTIM,
        "password": PASSWORD,
    }
    second = await client.get("/u/login")
    assert client.cookies[browser_binding.COOKIE] == value, "one cookie per browser, not per page"
    assert hidden(second.text, "csrf") != tab_one["csrf"]
    r = await client.post("/u/login", data=tab_one)  # the first tab still signs in after the second opened
    assert r.status_code == 303


async def test_a_failed_attempt_re_renders_a_form_that_still_works(client: httpx.AsyncClient, people: Runtime) -> None:
    form = await _form(client, VICTIM)
    wrong = await client.post("/u/login", data={**form, "password": "not the password"})
    assert wrong.status_code == 401
    retry = {**form, "csrf": hidden(wrong.text, "csrf")}
    assert (await client.post("/u/login", data=retry)).status_code == 303


@pytest.fixture
async def second_worker(database_url: str, tmp_path: Any, people: Runtime) -> AsyncIterator[Any]:
    """Another server process: its own runtime and caches, the same database and key-encryption key."""
    rt = Runtime.create(make_settings(database_url, tmp_path / "other"), Clock())
    yield create_app(runtime=rt)
    await rt.db.dispose()


async def test_a_page_from_one_worker_is_accepted_by_another(app: Any, second_worker: Any) -> None:
    async with _browser(app) as one, _browser(second_worker) as two:
        form = await _form(one, VICTIM)
        two.cookies = one.cookies
        r = await two.post("/u/login", data=form)
        assert r.status_code == 303 and SESSION in r.cookies


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("settings_overrides", [{"issuer": "https://testserver/"}])
async def test_https_issuer_uses_a_secure_prefixed_cookie(app: Any, people: Runtime) -> None:
    async with _browser(app, "https://testserver") as browser:
        form = await _form(browser, VICTIM)
        cookie = next(c for c in browser.cookies.jar if c.name == browser_binding.SECURE_COOKIE)
        assert cookie.secure and cookie.path == "/u/login"
        browser.cookies.clear()  # the same value under the unprefixed name, which plain http could have set
        browser.cookies.set(browser_binding.COOKIE, cookie.value or "", domain="testserver.local", path="/u/login")
        r = await browser.post("/u/login", data=form)
        assert r.status_code == 403 and "did not send" in r.text and SESSION not in r.cookies
        browser.cookies.clear()
        browser.cookies.jar.set_cookie(cookie)
        assert (await browser.post("/u/login", data=form)).status_code == 303


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("settings_overrides", [{"issuer": "https://auth.example.com/login/"}])
async def test_cookie_path_follows_an_issuer_behind_a_proxy_path(client: httpx.AsyncClient, people: Runtime) -> None:
    r = await client.get("/u/login")
    assert "Path=/login/u/login" in r.headers["set-cookie"] and "Secure" in r.headers["set-cookie"]
    assert 'action="https://auth.example.com/login/u/login"' in r.text
