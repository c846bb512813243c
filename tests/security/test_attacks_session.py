"""Attacks on the browser side: CSRF, clickjacking, session fixation, user enumeration by timing, brute force."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest
from sqlalchemy import func, select, update

from consentry.login.sessions import COOKIE
from consentry.storage.models import User, UserGrant
from tests.integration.flows.conftest import PASSWORD
from tests.security.conftest import SQLITE_ONLY, World, get_tokens, login_as, params, through
from tests.support.flow import Step, authorize, follow, hidden, pkce_pair

pytestmark = pytest.mark.attack


async def _has_route(client: httpx.AsyncClient, path: str) -> bool:
    """Pages other helpers may not have mounted yet (a GET of the page is not a 404)."""
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as anonymous:
        return (await anonymous.get(path)).status_code != 404


async def _on_consent(client: httpx.AsyncClient, world: World) -> Step:
    step = await authorize(client, params(world.spa, pkce_pair()[1]))
    if step.on_login:  # the second time, the SSO session goes straight to the consent page
        step = await follow(
            client,
            await client.post(
                "/u/login",
                data={
                    "state": hidden(step.page, "state"),
                    "csrf": hidden(step.page, "csrf"),
                    "username": "alice@example.com",
                    "password": PASSWORD,
                },
            ),
        )
    assert step.on_consent
    return step


async def _grants(world: World) -> int:
    async with world.rt.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(UserGrant)) or 0)


# --- CSRF on every form ----------------------------------------------------------------------------------------------

CSRF = [
    pytest.param("login", "missing", id="login_without_token"),
    pytest.param("login", "wrong", id="login_wrong_token"),
    pytest.param("login", "other_transaction", id="login_token_of_another_transaction"),
    pytest.param("login", "attackers_form", id="login_form_copied_from_attackers_browser"),
    pytest.param("login", "attackers_form_own_cookie", id="login_form_copied_into_browser_with_own_cookie"),
    pytest.param("consent", "missing", id="consent_without_token"),
    pytest.param("consent", "wrong", id="consent_wrong_token"),
    pytest.param("consent", "other_transaction", id="consent_token_of_another_transaction"),
    pytest.param("consent", "other_user_session", id="consent_posted_from_another_users_session"),
    pytest.param("revoke", "missing", id="connected_apps_revoke_without_token"),
    pytest.param("revoke", "wrong", id="connected_apps_revoke_wrong_token"),
    pytest.param("admin", "missing", id="admin_form_without_token"),
    pytest.param("admin", "other_session", id="admin_form_token_of_another_session"),
]


@SQLITE_ONLY
@pytest.mark.parametrize(("form", "how"), CSRF)
async def test_csrf(client: httpx.AsyncClient, world: World, form: str, how: str) -> None:
    if form == "login":
        if how.startswith("attackers_form"):  # issue 17: state and csrf from the attacker's own login page
            async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as attacker:
                page = (await attacker.get("/u/login")).text
            if how.endswith("own_cookie"):
                await client.get("/u/login")
            token = hidden(page, "csrf")
        else:
            page = (await client.get("/u/login")).text
            other = (await client.get("/u/login")).text
            token = {"missing": "", "wrong": "x" * 32, "other_transaction": hidden(other, "csrf")}[how]
        r = await client.post(
            "/u/login",
            data={"state": hidden(page, "state"), "csrf": token, "username": "alice@example.com", "password": PASSWORD},
        )
        assert r.status_code == 403 and ("CSRF" in r.text or "did not send" in r.text)
        assert COOKIE not in r.cookies, "no session is started"
        return
    if form == "consent":
        step = await _on_consent(client, world)
        token = {"missing": "", "wrong": "x" * 32, "other_user_session": hidden(step.page, "csrf")}.get(how, "")
        if how == "other_transaction":
            other = await _on_consent(client, world)
            token = hidden(other.page, "csrf")
        if how == "other_user_session":
            async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as bob:
                await through(bob, await authorize(bob, params(world.spa, pkce_pair()[1])), "bob@example.com")
                r = await bob.post(
                    "/u/consent", data={"state": hidden(step.page, "state"), "csrf": token, "action": "accept"}
                )
            assert r.status_code == 403 and "login_required" in r.text
        else:
            r = await client.post(
                "/u/consent", data={"state": hidden(step.page, "state"), "csrf": token, "action": "accept"}
            )
            assert r.status_code == 403 and "CSRF" in r.text
        assert "location" not in r.headers
        assert await _grants(world) == (1 if how == "other_user_session" else 0), "nothing was granted by the forgery"
        return
    if form == "revoke":
        if not await _has_route(client, "/u/apps"):
            pytest.fail("the connected-apps page is not mounted")
        await get_tokens(client, world.spa)
        r = await client.post(
            "/u/apps/revoke", data={"client_id": world.spa.client_id, **({"csrf": "x" * 64} if how == "wrong" else {})}
        )
        assert r.status_code == 403 and "CSRF" in r.text
        assert await _grants(world) == 1, "the grant survives"
        return
    if not await _has_route(client, "/admin"):
        pytest.fail("the admin dashboard is not mounted")
    async with world.rt.db.transaction() as s:
        await s.execute(update(User).where(User.user_id == world.alice).values(is_admin=True))
    await login_as(client)
    token = ""
    if how == "other_session":
        async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as other:
            await login_as(other)
            token = hidden((await other.get("/admin/applications/new")).text, "csrf")
    r = await client.post("/admin/applications/new", data={"name": "Forged", "app_type": "spa", "csrf": token})
    assert r.status_code == 403 and "CSRF" in r.text


@SQLITE_ONLY
async def test_csrf_cookie_attributes(client: httpx.AsyncClient, world: World) -> None:
    """The session cookie is HttpOnly and SameSite=Lax (a cross-site POST carries no session); Secure over https."""
    from types import SimpleNamespace

    from starlette.responses import Response

    from consentry.login.sessions import set_cookie

    page = await client.get("/u/login")
    login = await client.post(
        "/u/login",
        data={
            "state": hidden(page.text, "state"),
            "csrf": hidden(page.text, "csrf"),
            "username": "alice@example.com",
            "password": PASSWORD,
        },
    )
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    https = SimpleNamespace(settings=SimpleNamespace(session_lifetime=60, secure_cookies=True))
    response = Response()
    set_cookie(https, response, "token")  # type: ignore[arg-type]
    assert "secure" in response.headers["set-cookie"].lower()


# --- clickjacking --------------------------------------------------------------------------------------------------

FRAMING = [
    pytest.param("login_page", id="login_page"),
    pytest.param("consent_page", id="consent_page"),
    pytest.param("error_page", id="error_page"),
    pytest.param("not_found_page", id="not_found_page"),
    pytest.param("form_post", id="form_post_response"),
    pytest.param("web_message", id="web_message_response_only_framed_by_web_origins"),
    pytest.param("connected_apps", id="connected_apps_page"),
    pytest.param("admin", id="admin_page"),
]


@SQLITE_ONLY
@pytest.mark.parametrize("page", FRAMING)
async def test_clickjacking(client: httpx.AsyncClient, world: World, page: str) -> None:
    r = await _page(client, world, page)
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    if page == "web_message":
        ancestors = csp.split("frame-ancestors ")[1].split(";")[0].split()
        assert ancestors == ["https://partner.example.com"], "only the app's registered web origins may frame it"
        assert "x-frame-options" not in r.headers
        return
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"


async def _page(client: httpx.AsyncClient, world: World, page: str) -> httpx.Response:
    if page == "login_page":
        return await client.get("/u/login")
    if page == "consent_page":
        return (await _on_consent(client, world)).response
    if page == "error_page":
        return await client.get("/authorize", params={"client_id": "nope"})
    if page == "not_found_page":
        return await client.get("/u/nothing-here")
    if page in ("form_post", "web_message"):
        return await client.get("/authorize", params={**params(world.tp_open), "response_mode": page})
    await login_as(client)
    if page == "connected_apps":
        if not await _has_route(client, "/u/apps"):
            pytest.fail("the connected-apps page is not mounted")
        return await client.get("/u/apps")
    if not await _has_route(client, "/admin"):
        pytest.fail("the admin dashboard is not mounted")
    return await client.get("/admin")  # a non-admin gets a 403 page: it must not be frameable either


# --- session fixation ----------------------------------------------------------------------------------------------

FIXATION = [
    pytest.param("planted_unknown_cookie", id="planted_unknown_session_cookie"),
    pytest.param("attacker_session", id="attackers_own_session_then_victim_logs_in"),
    pytest.param("logout_replay", id="cookie_replayed_after_logout"),
    pytest.param("oidc_logout_replay", id="cookie_replayed_after_oidc_logout"),
    pytest.param("blocked_user", id="session_of_a_user_blocked_later"),
]


@pytest.mark.parametrize("how", FIXATION)
async def test_session_fixation(client: httpx.AsyncClient, world: World, how: str) -> None:
    planted = "A" * 43
    if how == "planted_unknown_cookie":
        client.cookies.set(COOKIE, planted)
        await login_as(client)
        issued = {c.value for c in client.cookies.jar if c.name == COOKIE} - {planted}
        assert issued, "the login issued its own session cookie, whatever the browser sent"
        old = planted
    elif how == "attacker_session":
        await login_as(client, "bob@example.com")
        old = client.cookies[COOKIE]
        await login_as(client, "alice@example.com")
        assert client.cookies[COOKIE] != old, "a new session id at every login"
    else:
        await login_as(client)
        old = client.cookies[COOKIE]
        if how == "blocked_user":
            async with world.rt.db.transaction() as s:
                await s.execute(update(User).where(User.user_id == world.alice).values(blocked=True))
        else:
            await client.get("/v2/logout" if how == "logout_replay" else "/oidc/logout")
    client.cookies.clear()
    client.cookies.set(COOKIE, old)
    step = await authorize(client, params(world.spa, pkce_pair()[1]))
    assert step.on_login, "the old or planted cookie is not a session"


# --- user enumeration ----------------------------------------------------------------------------------------------

# Both a wrong password for a real user and an unknown user cost one argon2id verification. The bound is generous
# so a busy 2-core machine does not make the test flaky: median latency ratio below 3, or a difference under 150 ms.
TIMING_RATIO, TIMING_DIFF, SAMPLES = 3.0, 0.150, 7


@SQLITE_ONLY
async def test_user_enumeration_by_timing(client: httpx.AsyncClient, world: World) -> None:
    async def attempt(username: str) -> tuple[float, httpx.Response]:
        page = await client.get("/u/login")
        form = {
            "state": hidden(page.text, "state"),
            "csrf": hidden(page.text, "csrf"),
            "username": username,
            "password": "not the password",
        }
        start = time.perf_counter()
        r = await client.post("/u/login", data=form)
        return time.perf_counter() - start, r

    known: list[float] = []
    unknown: list[float] = []
    bodies: set[tuple[int, str]] = set()
    for i in range(SAMPLES):  # interleaved, so drift on the machine hits both equally
        t, r = await attempt("bob@example.com")
        known.append(t)
        bodies.add((r.status_code, r.text.replace("bob@example.com", "USER")))
        t, r = await attempt(f"nobody{i}@example.com")
        unknown.append(t)
        bodies.add((r.status_code, r.text.replace(f"nobody{i}@example.com", "USER")))
    a, b = statistics.median(known), statistics.median(unknown)
    print(f"login timing: existing user {a * 1000:.1f} ms, unknown user {b * 1000:.1f} ms (medians of {SAMPLES})")
    assert max(a, b) / min(a, b) < TIMING_RATIO or abs(a - b) < TIMING_DIFF, (known, unknown)
    statuses = {s for s, _ in bodies}
    assert statuses == {401}
    texts = {_strip_tokens(t) for _, t in bodies}
    assert len(texts) == 1, "the same page for an unknown user and a wrong password"


def _strip_tokens(page: str) -> str:
    import re

    page = re.sub(r'name="(state|csrf)" value="[^"]*"', "", page)
    return re.sub(r"state=[A-Za-z0-9_%-]+", "", page)  # the pending request in the page's links (forgot password)


@SQLITE_ONLY
async def test_user_enumeration_by_answer(client: httpx.AsyncClient, world: World) -> None:
    """The password grant answers an unknown user and a wrong password identically."""
    answers = []
    for user in ("bob@example.com", "nobody@example.com"):
        r = await client.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "username": user,
                "password": "nope nope",
                "client_id": world.web.client_id,
                "client_secret": world.web.secret,
            },
        )
        answers.append((r.status_code, r.json()))
    assert answers[0] == answers[1] and answers[0][0] == 403


# --- brute force ---------------------------------------------------------------------------------------------------

BRUTE_FORCE = [
    pytest.param("login_form", id="login_form_password_guessing"),
    pytest.param("password_grant", id="password_grant_guessing"),
]


@pytest.mark.parametrize("how", BRUTE_FORCE)
async def test_brute_force(client: httpx.AsyncClient, world: World, how: str) -> None:
    limit = world.rt.settings.login_max_failures

    async def try_password(password: str, user: str = "alice@example.com") -> httpx.Response:
        if how == "password_grant":
            return await client.post(
                "/oauth/token",
                data={
                    "grant_type": "password",
                    "username": user,
                    "password": password,
                    "client_id": world.web.client_id,
                    "client_secret": world.web.secret,
                },
            )
        page = await client.get("/u/login")
        return await client.post(
            "/u/login",
            data={
                "state": hidden(page.text, "state"),
                "csrf": hidden(page.text, "csrf"),
                "username": user,
                "password": password,
            },
        )

    for i in range(limit):
        assert (await try_password(f"guess {i:04d}")).status_code in (401, 403)
    blocked = await try_password(PASSWORD)
    assert blocked.status_code == 429, "even the right password is refused once the limit is reached"
    assert COOKIE not in blocked.cookies and "access_token" not in blocked.text
    other = await try_password(PASSWORD, "bob@example.com")
    assert other.status_code in (200, 303), "the limit is per user and address: others still log in"
