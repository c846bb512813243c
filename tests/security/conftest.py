"""The victim tenant every attack table runs against, and helpers to get real codes and tokens.

``world``: the Social API (user policy ``allow_all``, offline access), alice and bob on a domain-level
database connection, a default client grant for third-party apps, and one app of each kind an
attacker would aim at or pose as.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from consentry.runtime import Runtime
from tests.integration.flows.conftest import API, PASSWORD, App, grant, make_app, make_user
from tests.integration.flows.conftest import social as social  # noqa: F401 - the fixture, re-exported
from tests.support.flow import Step, authorize, consent, exchange, login, pkce_pair

CALLBACK = "https://partner.example.com/callback"
LOOPBACK = "http://127.0.0.1:8080/cb"
WEB_ORIGIN = "https://partner.example.com"
EVIL = "https://evil.example"
# Families whose outcome cannot depend on the database run on SQLite only (they are pure request handling);
# the ones that write or query with hostile values (codes, tokens, NUL bytes, SQL, sessions) run on both.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class World:
    rt: Runtime
    spa: App  # third-party SPA, open_redirect_protection (the default)
    tp_open: App  # third-party SPA with allow_always (errors are redirected to it)
    web: App  # first-party confidential web app (password grant allowed)
    other: App  # another first-party confidential app
    fp_spa: App  # first-party public SPA
    native: App  # first-party native app on a loopback callback
    alice: str
    bob: str


@pytest.fixture
async def world(social: Runtime) -> World:
    rt = social
    await grant(rt, default=True)
    spa = await make_app(rt, third_party=True, web_origins=[WEB_ORIGIN])
    tp_open = await make_app(rt, third_party=True, redirection_policy="allow_always", web_origins=[WEB_ORIGIN])
    web = await make_app(
        rt,
        third_party=False,
        app_type="regular_web",
        allowed_logout_urls=[f"{WEB_ORIGIN}/bye"],
        grant_types=["authorization_code", "refresh_token", "password"],
    )
    other = await make_app(rt, third_party=False, app_type="regular_web", callback="https://other.example.com/cb")
    fp_spa = await make_app(rt, third_party=False, app_type="spa")
    native = await make_app(rt, third_party=False, app_type="native", callback=LOOPBACK)
    alice = await _user_id(rt, "alice@example.com")
    bob = await make_user(rt, "bob@example.com")
    return World(rt, spa, tp_open, web, other, fp_spa, native, alice, bob)


async def _user_id(rt: Runtime, email: str) -> str:
    from sqlalchemy import select

    from consentry.storage.models import User

    async with rt.db.read() as s:
        return str(await s.scalar(select(User.user_id).where(User.email == email)))


def params(app: App, challenge: str | None = None, scope: str = "read:posts offline_access", **extra: str) -> dict:
    p = {
        "client_id": app.client_id,
        "redirect_uri": app.callback,
        "response_type": "code",
        "scope": scope,
        "audience": API,
        "state": "st-1",
        **extra,
    }
    if challenge is not None:
        p.update(code_challenge=challenge, code_challenge_method="S256")
    return p


async def through(client: httpx.AsyncClient, step: Step, user: str = "alice@example.com") -> Step:
    """Log in and accept whatever the pages ask, until the browser leaves for the client."""
    for _ in range(4):
        if step.on_login:
            step = await login(client, step, user, PASSWORD)
        elif step.on_consent:
            step = await consent(client, step)
        else:
            return step
    return step


async def login_as(client: httpx.AsyncClient, user: str = "alice@example.com") -> Step:
    """Sign in on the universal login page directly (no application), as the dashboard and /u/apps do."""
    return await through(client, Step(await client.get("/u/login")), user)


async def get_code(client: httpx.AsyncClient, app: App, challenge: str | None, **extra: str) -> str:
    step = await through(client, await authorize(client, params(app, challenge, **extra)))
    assert step.callback, f"no code: {step.response.status_code} {step.page[:300]}"
    return step.params["code"]


async def get_tokens(client: httpx.AsyncClient, app: App, **extra: str) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    code = await get_code(client, app, challenge, **extra)
    r = await exchange(client, code, app.client_id, app.callback, verifier, app.secret)
    assert r.status_code == 200, r.text
    return dict(r.json())


def no_redirect(r: httpx.Response) -> None:
    """An error page of ours: never a redirect anywhere."""
    assert "location" not in r.headers, r.headers.get("location")
    assert r.headers["content-type"].startswith("text/html")
