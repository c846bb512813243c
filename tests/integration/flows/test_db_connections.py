"""Database signup, password reset and email verification with real email (a local aiosmtpd server).

``POST /dbconnections/signup`` and ``/dbconnections/change_password`` in Auth0's shapes, the Management API's
tickets (``POST /api/v2/tickets/*``), the pages their links open, the universal login's signup screen, and the
outbox folder when no SMTP server is configured. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from consentry.clock import FrozenClock
from consentry.runtime import Runtime
from consentry.services import signup
from consentry.storage.models import AuditEvent, Connection, LoginSession, User, UserTicket
from consentry.tenant import DEFAULT_DIRECTORY
from tests.integration.flows.conftest import PASSWORD, App, make_app, make_user
from tests.support.flow import authorize, follow, hidden, pkce_pair, query
from tests.support.smtp import Inbox, link_in, smtp_server

NEW_PASSWORD = "a brand new passphrase"
RESET_TEXT = "We've just sent you an email to reset your password."


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings_overrides(inbox: Inbox) -> dict[str, Any]:
    return inbox.settings


@pytest.fixture
async def web_app(runtime: Runtime, inbox: Inbox) -> App:
    while not inbox.empty():  # what an earlier test left unread
        inbox.next()
    return await make_app(runtime, third_party=False, app_type="regular_web")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def _user(rt: Runtime, email: str) -> User:
    async with rt.db.read() as s:
        row = await s.scalar(select(User).where(User.email == email))
    assert row is not None
    return row


async def _events(rt: Runtime, type_: str) -> list[AuditEvent]:
    async with rt.db.read() as s:
        return list((await s.scalars(select(AuditEvent).where(AuditEvent.type == type_))).all())


async def _password_login(client: httpx.AsyncClient, email: str, password: str) -> int:
    page = await client.get("/u/login", params={"next": "/u/apps"})
    form = {"state": hidden(page.text, "state"), "csrf": hidden(page.text, "csrf"), "username": email}
    r = await client.post("/u/login", data={**form, "password": password})
    return r.status_code


async def _set_options(rt: Runtime, **options: Any) -> None:
    async with rt.db.transaction() as s:
        await s.execute(update(Connection).where(Connection.name == DEFAULT_DIRECTORY).values(options=options))
    rt.catalog.invalidate()


# --- POST /dbconnections/signup -------------------------------------------------------------------------


async def test_signup_answers_auth0s_shape_and_sends_a_verification_link(
    client: httpx.AsyncClient, runtime: Runtime, web_app: App, inbox: Inbox
) -> None:
    body = {
        "client_id": web_app.client_id,
        "connection": DEFAULT_DIRECTORY,
        "email": "New.User@example.com",
        "password": PASSWORD,
        "given_name": "New",
        "user_metadata": {"plan": "free"},
    }
    r = await client.post("/dbconnections/signup", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    user = await _user(runtime, "new.user@example.com")
    assert answer == {
        "_id": user.user_id.removeprefix("auth0|"),
        "email_verified": False,
        "email": "new.user@example.com",
        "given_name": "New",
        "user_metadata": {"plan": "free"},
    }
    assert [e.client_id for e in await _events(runtime, "ss")] == [web_app.client_id]
    mail = inbox.next()
    assert mail["To"] == "new.user@example.com" and mail["From"] == "auth@example.com"
    assert "Verify your email" in mail["Subject"]
    link = link_in(mail)
    assert link.startswith("http://testserver/u/email-verification?ticket=")
    async with runtime.db.read() as s:  # only the digest of the link's secret is stored
        stored = (await s.scalars(select(UserTicket.token_hash))).all()
    assert stored and all(h not in link for h in stored)
    page = await client.get(_path(link))
    assert page.status_code == 200 and "Your email was verified" in page.text
    assert (await _user(runtime, "new.user@example.com")).email_verified is True
    again = await client.get(_path(link))  # single use
    assert again.status_code == 400 and "expired or was already used" in again.text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "alice@example.com"}, "user_exists"),
        ({"connection": "no-such-connection"}, "connection_not_found"),
        ({"email": "not-an-email"}, "invalid_signup"),
        ({"password": None}, "invalid_body"),
        ({"client_id": "unknown-client"}, "invalid_client"),
    ],
)
async def test_signup_refusals(
    client: httpx.AsyncClient, runtime: Runtime, web_app: App, inbox: Inbox, body: dict[str, Any], code: str
) -> None:
    await make_user(runtime)
    full = {"client_id": web_app.client_id, "connection": DEFAULT_DIRECTORY, "email": "x@example.com"}
    full.update({"password": PASSWORD, **body})
    r = await client.post("/dbconnections/signup", json={k: v for k, v in full.items() if v is not None})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == code and r.json()["statusCode"] == 400 and r.json()["name"] == "BadRequestError"
    assert inbox.empty()


async def test_signup_follows_the_connections_password_policy_and_disable_signup(
    client: httpx.AsyncClient, runtime: Runtime, web_app: App
) -> None:
    await _set_options(runtime, passwordPolicy="excellent")
    body = {"client_id": web_app.client_id, "connection": DEFAULT_DIRECTORY, "email": "p@example.com"}
    r = await client.post("/dbconnections/signup", data={**body, "password": "aaa-weak"})  # form-encoded too
    assert r.status_code == 400
    err = r.json()
    assert err["name"] == "PasswordStrengthError" and err["code"] == "invalid_password"
    assert err["message"] == "Password is too weak" and err["description"]["verified"] is False
    assert {rule["code"] for rule in err["description"]["rules"]} == {
        "lengthAtLeast",
        "containsAtLeast",
        "identicalChars",
    }
    assert err["policy"].startswith("* At least 10 characters in length")
    assert (await client.post("/dbconnections/signup", json={**body, "password": "Str0ng&Long!"})).status_code == 200
    await _set_options(runtime, disable_signup=True)
    r = await client.post("/dbconnections/signup", json={**body, "email": "q@example.com", "password": PASSWORD})
    assert r.status_code == 400 and r.json()["code"] == "operation_not_allowed"
    assert r.json()["error"] == "public signup is disabled"
    assert len(await _events(runtime, "fs")) == 2


# --- POST /dbconnections/change_password and the reset page ---------------------------------------------


async def test_password_reset_by_email_sets_a_new_password_once(
    client: httpx.AsyncClient, runtime: Runtime, web_app: App, inbox: Inbox
) -> None:
    await make_user(runtime)
    assert await _password_login(client, "alice@example.com", PASSWORD) == 303  # a session that will end
    body = {"client_id": web_app.client_id, "connection": DEFAULT_DIRECTORY, "email": "Alice@example.com"}
    r = await client.post("/dbconnections/change_password", json=body)
    assert r.status_code == 200 and r.text == RESET_TEXT and r.headers["content-type"].startswith("text/plain")
    link = link_in(inbox.next())
    assert link.startswith("http://testserver/u/reset-password?ticket=")
    page = await client.get(_path(link))
    assert page.status_code == 200 and "alice@example.com" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    form = {"ticket": hidden(page.text, "ticket"), "csrf": hidden(page.text, "csrf")}
    mismatch = await client.post("/u/reset-password", data={**form, "password": NEW_PASSWORD, "password_confirm": "x"})
    assert mismatch.status_code == 400 and "not the same" in mismatch.text
    weak = await client.post("/u/reset-password", data={**form, "password": "short", "password_confirm": "short"})
    assert weak.status_code == 400 and "too weak" in weak.text
    done = await client.post(
        "/u/reset-password", data={**form, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert done.status_code == 200 and "Your password has been changed" in done.text
    async with runtime.db.read() as s:  # the session from before the reset has ended
        assert all(r is not None for r in (await s.scalars(select(LoginSession.revoked_at))).all())
    assert [e.type for e in await _events(runtime, "scp")] == ["scp"]
    replay = await client.post(
        "/u/reset-password", data={**form, "password": "another passphrase", "password_confirm": "another passphrase"}
    )
    assert replay.status_code == 400 and "already used" in replay.text
    client.cookies.clear()
    assert await _password_login(client, "alice@example.com", PASSWORD) == 401  # the old password stops working
    assert await _password_login(client, "alice@example.com", NEW_PASSWORD) == 303


async def test_change_password_answers_the_same_for_an_unknown_address(
    client: httpx.AsyncClient, runtime: Runtime, web_app: App, inbox: Inbox
) -> None:
    body = {"client_id": web_app.client_id, "connection": DEFAULT_DIRECTORY, "email": "nobody@example.com"}
    r = await client.post("/dbconnections/change_password", json=body)
    assert r.status_code == 200 and r.text == RESET_TEXT
    assert inbox.empty()
    r = await client.post("/dbconnections/change_password", json={**body, "connection": "nope"})
    assert r.status_code == 400 and r.json()["code"] == "connection_not_found"
    r = await client.post("/dbconnections/change_password", json={"client_id": web_app.client_id})
    assert r.status_code == 400 and r.json()["description"] == "Missing required parameter: connection"


async def test_a_reset_form_copied_to_another_browser_is_refused(
    app: Any, runtime: Runtime, web_app: App, mgmt: httpx.AsyncClient
) -> None:
    user_id = await make_user(runtime)
    r = await mgmt.post("/api/v2/tickets/password-change", json={"user_id": user_id})
    link = r.json()["ticket"]
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as attacker,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as victim,
    ):
        page = await attacker.get(_path(link))
        form = {"ticket": hidden(page.text, "ticket"), "csrf": hidden(page.text, "csrf")}
        r = await victim.post(
            "/u/reset-password", data={**form, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
        )
        assert r.status_code == 403 and "CSRF" in r.text
    assert (await _user(runtime, "alice@example.com")).password_hash is not None
    async with runtime.db.read() as s:
        assert (await s.scalar(select(UserTicket.used_at))) is None  # still usable by its owner


# --- the Management API's tickets ------------------------------------------------------------------------


async def test_password_change_ticket_with_result_url_and_auth0s_options(
    client: httpx.AsyncClient, runtime: Runtime, mgmt: httpx.AsyncClient, inbox: Inbox
) -> None:
    user_id = await make_user(runtime)
    body = {
        "user_id": user_id,
        "result_url": "https://app.example.com/done?from=reset",
        "ttl_sec": 600,
        "mark_email_as_verified": True,
        "includeEmailInRedirect": True,
    }
    r = await mgmt.post("/api/v2/tickets/password-change", json=body)
    assert r.status_code == 201, r.text
    link = r.json()["ticket"]
    assert link.startswith("http://testserver/u/reset-password?ticket=") and link.endswith("#")
    assert inbox.empty()  # the Management API sends no email: the caller delivers the link
    page = await client.get(_path(link))
    form = {"ticket": hidden(page.text, "ticket"), "csrf": hidden(page.text, "csrf")}
    done = await client.post(
        "/u/reset-password", data={**form, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303
    target = done.headers["location"]
    assert target.startswith("https://app.example.com/done?from=reset&")
    assert query(target) == {
        "from": "reset",
        "success": "true",
        "code": "success",
        "message": "Your password has been changed successfully.",
        "email": "alice@example.com",
    }
    assert (await _user(runtime, "alice@example.com")).email_verified is True
    by_email = await mgmt.post(
        "/api/v2/tickets/password-change",
        json={"email": "alice@example.com", "connection_id": (await _user(runtime, "alice@example.com")).connection_id},
    )
    assert by_email.status_code == 201


async def test_tickets_expire_with_ttl_sec(
    client: httpx.AsyncClient, runtime: Runtime, mgmt: httpx.AsyncClient
) -> None:
    user_id = await make_user(runtime)
    link = (await mgmt.post("/api/v2/tickets/email-verification", json={"user_id": user_id, "ttl_sec": 60})).json()
    clock = FrozenClock()
    runtime.clock = clock
    clock.advance(59)
    assert (await client.get(_path(link["ticket"]).replace("ticket=", "ticket=x"))).status_code == 400
    clock.advance(2)  # 61 s after the ticket was made
    r = await client.get(_path(link["ticket"]))
    assert r.status_code == 400 and "expired" in r.text
    assert (await _user(runtime, "alice@example.com")).email_verified is False


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("password-change", {}, 400, "invalid_body"),
        ("password-change", {"user_id": "auth0|nobody"}, 404, "inexistent_user"),
        ("password-change", {"user_id": "U", "new_password": "x"}, 400, "invalid_body"),
        ("password-change", {"user_id": "U", "ttl_sec": -1}, 400, "invalid_body"),
        ("password-change", {"user_id": "U", "result_url": "javascript:alert(1)"}, 400, "invalid_body"),
        ("email-verification", {}, 400, "invalid_body"),
        ("email-verification", {"user_id": "U", "unknown": 1}, 400, "invalid_body"),
        ("email-verification", {"user_id": "U", "ttl_sec": 99999999}, 400, "invalid_body"),
    ],
)
async def test_ticket_refusals(
    runtime: Runtime, mgmt: httpx.AsyncClient, path: str, body: dict[str, Any], status: int, code: str
) -> None:
    user_id = await make_user(runtime)
    sent = {k: (user_id if v == "U" else v) for k, v in body.items()}
    r = await mgmt.post(f"/api/v2/tickets/{path}", json=sent)
    assert r.status_code == status, r.text
    assert r.json()["errorCode"] == code and r.json()["statusCode"] == status


async def test_tickets_need_create_user_tickets(client: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await client.post("/api/v2/tickets/password-change", json={"user_id": "auth0|x"})
    assert r.status_code == 401 and r.json()["errorCode"] == "missing_authorization"


# --- the universal login's signup screen -----------------------------------------------------------------


async def test_screen_hint_signup_opens_the_signup_screen_and_signs_the_user_in(
    client: httpx.AsyncClient, runtime: Runtime, web_app: App, inbox: Inbox
) -> None:
    _, challenge = pkce_pair()
    params = {
        "client_id": web_app.client_id,
        "redirect_uri": web_app.callback,
        "response_type": "code",
        "scope": "openid",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "screen_hint": "signup",
    }
    step = await authorize(client, params)
    assert 'action="http://testserver/u/login/signup"' in step.page, step.page[:500]
    state, csrf = hidden(step.page, "state"), hidden(step.page, "csrf")
    login_link = await client.get("/u/login", params={"state": state, "screen": "login"})
    assert 'name="username"' in login_link.text  # "Log in" from the signup screen stays on the login form
    taken = await client.post("/u/login/signup", data={"state": state, "csrf": csrf, "email": "x", "password": "p"})
    assert taken.status_code == 400 and 'id="error"' in taken.text
    r = await client.post(
        "/u/login/signup", data={"state": state, "csrf": csrf, "email": "signup@example.com", "password": PASSWORD}
    )
    done = await follow(client, r)
    assert done.callback and done.callback.startswith(web_app.callback) and done.params["state"] == "st"
    assert "code" in done.params
    assert "Verify your email" in inbox.next()["Subject"]
    assert (await _user(runtime, "signup@example.com")).logins_count == 1


async def test_the_signup_screen_is_for_first_party_apps_with_open_signup(
    client: httpx.AsyncClient, runtime: Runtime, web_app: App
) -> None:
    page = await client.get("/u/login", params={"next": "/u/apps"})  # a login for no application
    state = hidden(page.text, "state")
    assert 'id="signup-link"' not in page.text and 'id="forgot-link"' in page.text  # reset: yes, signup: no
    assert (await client.get("/u/login/signup", params={"state": state})).status_code == 403
    assert (await client.get("/u/login/signup", params={"state": "unknown"})).status_code == 400


async def test_forgot_password_screen_sends_the_link(
    client: httpx.AsyncClient, runtime: Runtime, web_app: App, inbox: Inbox
) -> None:
    await make_user(runtime)
    _, challenge = pkce_pair()
    step = await authorize(
        client,
        {
            "client_id": web_app.client_id,
            "redirect_uri": web_app.callback,
            "response_type": "code",
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert 'id="forgot-link"' in step.page and 'id="signup-link"' in step.page
    state = hidden(step.page, "state")
    page = await client.get("/u/login/password-reset", params={"state": state})
    form = {"state": state, "csrf": hidden(page.text, "csrf")}
    r = await client.post("/u/login/password-reset", data={**form, "email": "alice@example.com"})
    assert r.status_code == 200 and RESET_TEXT in r.text.replace("&#39;", "'")
    assert link_in(inbox.next()).startswith("http://testserver/u/reset-password?ticket=")


# --- no SMTP server: the outbox ---------------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{}], ids=["no_smtp_host"])  # the embedded default
async def test_without_smtp_host_messages_go_to_the_outbox_and_the_log_has_no_link(
    client: httpx.AsyncClient, runtime: Runtime, web_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    await make_user(runtime)
    assert not runtime.settings.smtp_host
    body = {"client_id": web_app.client_id, "connection": DEFAULT_DIRECTORY, "email": "alice@example.com"}
    with caplog.at_level(logging.INFO, logger="consentry.mail"):
        r = await client.post("/dbconnections/change_password", json=body)
    assert r.status_code == 200
    files = list((runtime.settings.data_dir / "outbox").glob("*.eml"))
    assert len(files) == 1 and files[0].stat().st_mode & 0o077 == 0
    text = files[0].read_text()
    assert "To: alice@example.com" in text and "/u/reset-password?ticket=" in text
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert str(files[0]) in logged and "ticket=" not in logged and "alice@example.com" not in logged


# --- limits -----------------------------------------------------------------------------------------------


async def test_reset_emails_per_address_and_signups_per_ip_are_limited(
    client: httpx.AsyncClient, runtime: Runtime, web_app: App, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_user(runtime)
    body = {"client_id": web_app.client_id, "connection": DEFAULT_DIRECTORY, "email": "alice@example.com"}
    for _ in range(signup.RESET_MAILS_PER_ADDRESS + 1):
        r = await client.post("/dbconnections/change_password", json=body)
        assert r.status_code == 200 and r.text == RESET_TEXT  # the same answer every time
    assert [inbox.next() for _ in range(signup.RESET_MAILS_PER_ADDRESS)] and inbox.empty()
    monkeypatch.setattr(signup, "SIGNUPS_PER_IP", 1)
    sign = {"client_id": web_app.client_id, "connection": DEFAULT_DIRECTORY, "password": PASSWORD}
    assert (await client.post("/dbconnections/signup", json={**sign, "email": "one@example.com"})).status_code == 200
    r = await client.post("/dbconnections/signup", json={**sign, "email": "two@example.com"})
    assert r.status_code == 429 and r.json()["name"] == "TooManyRequestsError"


async def test_management_user_create_with_verify_email_sends_the_verification(
    client: httpx.AsyncClient, runtime: Runtime, mgmt: httpx.AsyncClient, inbox: Inbox
) -> None:
    while not inbox.empty():
        inbox.next()
    body = {"connection": DEFAULT_DIRECTORY, "email": "managed@example.com", "password": PASSWORD}
    assert (await mgmt.post("/api/v2/users", json=body)).status_code == 201
    assert inbox.empty()  # no verify_email: no email (as before)
    r = await mgmt.post("/api/v2/users", json={**body, "email": "verify@example.com", "verify_email": True})
    assert r.status_code == 201 and r.json()["email_verified"] is False
    link = link_in(inbox.next())
    assert (await client.get(_path(link))).status_code == 200
    assert (await _user(runtime, "verify@example.com")).email_verified is True
