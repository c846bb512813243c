"""What ``/authorize`` reads and writes (``oauth/authorize/flow.py``).

The user grant is read once per request and its id goes on the code. At ``/authorize/resume`` the pending
request is consumed and the code stored in ONE transaction: a failure in between leaves the request usable
and no code behind, and a request completed meanwhile by another tab gives no second code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from consentry.login import interaction
from consentry.runtime import Runtime
from consentry.storage import codes as storage_codes
from consentry.storage.models import AuthorizationCode, Interaction, UserGrant
from consentry.tokens import ids
from tests.conftest import ISSUER
from tests.integration.flows.conftest import API, PASSWORD, App, grant, make_app
from tests.support.flow import Step, authorize, consent, follow, hidden, login, pkce_pair, query


@pytest.fixture
async def browser(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets the 503 page instead of the re-raised exception (as a real browser would)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER.rstrip("/")) as c:
        yield c


def _params(app: App, **extra: str) -> dict[str, str]:
    _, challenge = pkce_pair()
    return {
        "client_id": app.client_id,
        "redirect_uri": app.callback,
        "response_type": "code",
        "scope": "read:posts",
        "audience": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s",
        **extra,
    }


async def _codes(rt: Runtime) -> int:
    async with rt.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(AuthorizationCode)) or 0)


async def _logged_in_resume(client: httpx.AsyncClient, rt: Runtime) -> tuple[App, str]:
    """A third-party app the user already consented to; a fresh request stopped at ``/authorize/resume``."""
    app = await make_app(rt, third_party=True)
    await grant(rt, default=True)
    step = await consent(
        client, await login(client, await authorize(client, _params(app)), "alice@example.com", PASSWORD)
    )
    assert "code" in step.params
    r = await client.get("/authorize", params=_params(app, prompt="login"))
    step = await follow(client, r)
    assert step.on_login
    form = {
        "state": hidden(step.page, "state"),
        "csrf": hidden(step.page, "csrf"),
        "username": "alice@example.com",
        "password": PASSWORD,
    }
    r = await client.post("/u/login", data=form)
    assert r.status_code == 303 and "/authorize/resume?state=" in r.headers["location"]
    return app, r.headers["location"]


async def test_an_sso_authorize_is_one_read_and_one_insert(client: httpx.AsyncClient, social: Runtime) -> None:
    """The session, its user and the user's grant in one statement; the code (with the grant's id) in one write."""
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    step = await consent(
        client, await login(client, await authorize(client, _params(app)), "alice@example.com", PASSWORD)
    )
    assert "code" in step.params
    await client.get("/authorize", params=_params(app))  # warm the catalog (read through a pool of its own)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()[:3]))

    event.listen(social.db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        step = await authorize(client, _params(app))  # SSO: straight to the callback
    finally:
        event.remove(social.db.engine.sync_engine, "before_cursor_execute", seen)
    code = step.params["code"]
    assert [s for s in statements if s.split()[0] in ("SELECT", "INSERT", "UPDATE", "DELETE")] == [
        "SELECT login_sessions.id, login_sessions.auth_time,",
        "INSERT INTO authorization_codes",
    ], statements
    async with social.db.read() as s:
        row = await s.get(AuthorizationCode, ids.digest(code))
        stored = await s.scalar(select(UserGrant).where(UserGrant.client_id == app.client_id))
    assert row is not None and stored is not None and row.grant_id == stored.id and row.scope == ["read:posts"]


async def test_a_failure_between_consuming_and_storing_the_code_leaves_the_request_usable(
    browser: httpx.AsyncClient, social: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, resume = await _logged_in_resume(browser, social)
    txn = query(resume)["state"]
    codes = await _codes(social)

    async def insert_fails(unit: Any, code: Any) -> None:  # after the request was consumed in the same transaction
        raise OperationalError("INSERT INTO authorization_codes", None, Exception("database is locked"))

    monkeypatch.setattr(storage_codes, "insert_in", insert_fails)
    r = await browser.get(resume)
    assert r.status_code == 503
    async with social.db.read() as s:
        row = await s.get(Interaction, txn)
    assert row is not None and row.consumed_at is None  # rolled back with the failed insert
    assert await _codes(social) == codes
    monkeypatch.undo()
    step = await follow(browser, await browser.get(resume))  # the same resume link works once the database answers
    assert step.callback and "code" in step.params and step.params["state"] == "s"
    assert await _codes(social) == codes + 1
    again = await browser.get(resume)  # and only once
    assert again.status_code == 400 and await _codes(social) == codes + 1


async def test_a_request_completed_meanwhile_gives_no_second_code(
    client: httpx.AsyncClient, social: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, resume = await _logged_in_resume(client, social)
    stale = await interaction.load(social, query(resume)["state"])
    assert stale is not None
    assert await interaction.consume(social, stale.id)  # another tab completed it after this request loaded it
    codes = await _codes(social)

    async def load(_rt: Runtime, _txn: str | None) -> Interaction:
        return stale

    monkeypatch.setattr(interaction, "load", load)
    r = await client.get(resume)
    assert r.status_code == 400 and "already completed" in r.text
    assert await _codes(social) == codes


async def test_prompt_none_with_a_session_issues_a_code_in_one_request(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    step: Step = await consent(
        client, await login(client, await authorize(client, _params(app)), "alice@example.com", PASSWORD)
    )
    assert "code" in step.params
    r = await client.get("/authorize", params=_params(app, prompt="none"))
    assert r.status_code == 302 and "code=" in r.headers["location"]
    async with social.db.read() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Interaction).where(Interaction.consumed_at.is_(None))) == 0
        )
