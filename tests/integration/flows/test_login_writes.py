"""What a login writes (``login/routes.py``): everything of a success in ONE transaction, nothing half-done.

A successful ``POST /u/login`` ends the previous session, starts a new one, counts the login on the user,
records the audit event, marks the pending request as logged in and forgets the failure counter, all in one
write transaction. A failure in the middle (here: the database locked at the last statement) leaves none of
it, answers a clean 503, and the same form succeeds when sent again.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from consentry.login import passwords
from consentry.runtime import Runtime
from consentry.services import audit, rate_limit
from consentry.storage.models import AuditEvent, Interaction, LoginSession, RateCounter, User
from tests.conftest import ISSUER
from tests.integration.flows.conftest import API, PASSWORD, grant, make_app
from tests.support.flow import Step, authorize, follow, hidden, pkce_pair

EMAIL = "alice@example.com"


@pytest.fixture
async def browser(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets the 503 page instead of the re-raised exception (as a real browser would)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER.rstrip("/")) as c:
        yield c


async def _login_page(client: httpx.AsyncClient, rt: Runtime, **extra: str) -> Step:
    app = await make_app(rt, third_party=False)
    await grant(rt, client_id=app.client_id)
    _, challenge = pkce_pair()
    step = await authorize(
        client,
        {
            "client_id": app.client_id,
            "redirect_uri": app.callback,
            "response_type": "code",
            "scope": "openid read:posts",
            "audience": API,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s",
            **extra,
        },
    )
    assert step.on_login
    return step


def _form(step: Step, password: str = PASSWORD) -> dict[str, str]:
    return {
        "state": hidden(step.page, "state"),
        "csrf": hidden(step.page, "csrf"),
        "username": EMAIL,
        "password": password,
    }


async def _state(rt: Runtime, txn: str) -> dict[str, Any]:
    async with rt.db.read() as s:
        user = await s.scalar(select(User).where(User.email == EMAIL))
        assert user is not None
        row = await s.get(Interaction, txn)
        assert row is not None
        return {
            "sessions": await s.scalar(
                select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.user_id)
            ),
            "revoked": await s.scalar(
                select(func.count()).select_from(LoginSession).where(LoginSession.revoked_at.is_not(None))
            ),
            "logins_count": user.logins_count,
            "last_ip": user.last_ip,
            "successes": await s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.type == audit.LOGIN_SUCCESS)
            ),
            "failures": await s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.type == audit.LOGIN_FAILURE)
            ),
            "counters": await s.scalar(
                select(func.count()).select_from(RateCounter).where(RateCounter.key.like("login-fail:%"))
            ),
            "txn_user": row.user_id,
            "txn_done": row.login_done_at is not None,
        }


async def test_a_login_writes_everything_once(client: httpx.AsyncClient, social: Runtime) -> None:
    step = await _login_page(client, social)
    txn = hidden(step.page, "state")
    wrong = await client.post("/u/login", data=_form(step, "not the password"))
    assert wrong.status_code == 401
    before = await _state(social, txn)
    assert before["failures"] == 1 and before["counters"] == 1 and before["sessions"] == 0
    r = await client.post("/u/login", data=_form(step))
    assert r.status_code == 303 and r.headers["location"].startswith(f"{ISSUER}authorize/resume?state=")
    after = await _state(social, txn)
    assert after == {
        **before,
        "sessions": 1,
        "logins_count": 1,
        "last_ip": after["last_ip"],
        "successes": 1,
        "counters": 0,
        "txn_user": after["txn_user"],
        "txn_done": True,
    }
    assert after["txn_user"] and after["last_ip"]
    # a second login from the same browser ends the first session in the same transaction
    step = await _login_page(client, social, prompt="login")
    r = await client.post("/u/login", data=_form(step))
    assert r.status_code == 303
    again = await _state(social, hidden(step.page, "state"))
    assert again["sessions"] == 2 and again["revoked"] == 1 and again["logins_count"] == 2 and again["successes"] == 2


async def test_a_failure_mid_login_leaves_no_half_state(
    browser: httpx.AsyncClient, social: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = await _login_page(browser, social)
    txn = hidden(step.page, "state")
    assert (await browser.post("/u/login", data=_form(step, "not the password"))).status_code == 401
    before = await _state(social, txn)

    async def locked(*_args: Any) -> None:
        raise OperationalError("DELETE FROM rate_counters", None, Exception("database is locked"))

    monkeypatch.setattr(rate_limit, "reset_in", locked)  # the last statement of the login's transaction
    r = await browser.post("/u/login", data=_form(step))
    assert r.status_code == 503 and "set-cookie" not in r.headers
    assert await _state(social, txn) == before  # no session, no count, no audit event, the request untouched
    monkeypatch.undo()
    r = await browser.post("/u/login", data=_form(step))  # the same form, once the database answers again
    assert r.status_code == 303 and "consentry_session=" in r.headers["set-cookie"]
    done = await _state(social, txn)
    assert done["sessions"] == 1 and done["logins_count"] == 1 and done["counters"] == 0 and done["txn_done"]
    step = await follow(browser, r)
    assert "code" in step.params


async def test_a_failed_login_counts_and_audits_in_one_transaction(
    browser: httpx.AsyncClient, social: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = await _login_page(browser, social)
    txn = hidden(step.page, "state")
    before = await _state(social, txn)

    async def locked(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("INSERT INTO audit_events", None, Exception("database is locked"))

    monkeypatch.setattr(audit, "write", locked)
    r = await browser.post("/u/login", data=_form(step, "not the password"))
    assert r.status_code == 503
    assert await _state(social, txn) == before  # the failure was not counted either
    monkeypatch.undo()
    assert (await browser.post("/u/login", data=_form(step, "not the password"))).status_code == 401
    after = await _state(social, txn)
    assert after["failures"] == 1 and after["counters"] == 1


async def test_password_checks_run_off_the_event_loop(
    client: httpx.AsyncClient, social: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    original = passwords.verify_password

    def check(stored: str | None, password: str) -> bool:
        threads.append(threading.current_thread().name)
        return original(stored, password)

    monkeypatch.setattr(passwords, "verify_password", check)
    step = await _login_page(client, social)
    assert (await client.post("/u/login", data=_form(step, "not the password"))).status_code == 401
    assert (await client.post("/u/login", data=_form(step))).status_code == 303
    assert len(threads) == 2 and all(name.startswith("argon2") for name in threads), threads
