"""A client or user deleted between a request's reads and its write: the answer of after the delete, never a 500.

Each test opens the window deterministically: the delete runs (in its own transaction, as another process's
Management API call would) inside a step the request takes after it read the client or user and before it writes
a row that points at them. ``tests/faults/test_delete_races.py`` races the same deletes for real on a live server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from consentry.consent import routes as consent_routes
from consentry.login import routes as login_routes
from consentry.oauth.authorize import flow
from consentry.oauth.grants import password
from consentry.runtime import Runtime
from consentry.services.clients import delete_client
from consentry.services.users import delete_user
from consentry.storage.models import AuthorizationCode, LoginSession, RefreshToken, User, UserGrant
from consentry.tenant import DEFAULT_DIRECTORY
from tests.integration.flows.conftest import API, PASSWORD, App, grant, make_app
from tests.support.flow import authorize, consent, hidden, login, pkce_pair

REALM = "http://auth0.com/oauth/grant-type/password-realm"
EMAIL = "alice@example.com"


async def _user_id(rt: Runtime) -> str:
    async with rt.db.read() as s:
        user_id = await s.scalar(select(User.user_id).where(User.email == EMAIL))
    assert user_id
    return user_id


async def _delete(rt: Runtime, what: str, app: App) -> None:
    user_id = await _user_id(rt) if what == "user" else ""
    async with rt.db.transaction() as s:
        if what == "user":
            await delete_user(rt, s, user_id, actor=None)
        else:
            await delete_client(rt, s, app.client_id)


def _then_delete(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, rt: Runtime, what: str, app: App) -> None:
    """Once: let ``module.name`` run, then delete the user or the client (the request goes on with what it read)."""
    real: Callable[..., Awaitable[Any]] = getattr(module, name)

    async def step(*args: Any, **kwargs: Any) -> Any:
        result = await real(*args, **kwargs)
        monkeypatch.setattr(module, name, real)
        await _delete(rt, what, app)
        return result

    monkeypatch.setattr(module, name, step)


async def _count(rt: Runtime, model: Any, *where: Any) -> int:
    async with rt.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _params(app: App) -> dict[str, str]:
    return {
        "client_id": app.client_id,
        "redirect_uri": app.callback,
        "response_type": "code",
        "state": "s",
        "scope": "openid read:posts",
        "audience": API,
        "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256",
    }


@pytest.mark.parametrize(
    ("what", "status", "error"), [("user", 403, "invalid_grant"), ("client", 401, "invalid_client")]
)
async def test_password_grant_for_a_user_or_client_deleted_during_the_password_check(
    client: httpx.AsyncClient, social: Runtime, monkeypatch: pytest.MonkeyPatch, what: str, status: int, error: str
) -> None:
    app = await make_app(social, third_party=False, app_type="regular_web", grant_types=[REALM, "refresh_token"])
    _then_delete(monkeypatch, password, "verify_password_off_loop", social, what, app)
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": REALM,
            "realm": DEFAULT_DIRECTORY,
            "username": EMAIL,
            "password": PASSWORD,
            "client_id": app.client_id,
            "client_secret": app.secret,
            "audience": API,
            "scope": "openid offline_access",
        },
    )
    assert r.status_code == status and r.json()["error"] == error, r.text
    assert await _count(social, RefreshToken) == 0


async def test_login_of_a_user_deleted_during_the_password_check_is_the_generic_failure(
    client: httpx.AsyncClient, social: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await make_app(social, third_party=False, app_type="regular_web")
    step = await authorize(client, _params(app))
    _then_delete(monkeypatch, login_routes, "verify_password_off_loop", social, "user", app)
    form = {
        "state": hidden(step.page, "state"),
        "csrf": hidden(step.page, "csrf"),
        "username": EMAIL,
        "password": PASSWORD,
    }
    r = await client.post("/u/login", data=form)
    assert r.status_code == 401 and login_routes.GENERIC_FAILURE in r.text
    assert await _count(social, LoginSession) == 0


async def test_sso_authorize_for_a_user_deleted_after_the_session_was_read_goes_to_the_login_page(
    client: httpx.AsyncClient, social: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await make_app(social, third_party=False, app_type="regular_web")
    step = await login(client, await authorize(client, _params(app)), EMAIL, PASSWORD)
    assert "code" in step.params
    _then_delete(monkeypatch, flow, "current_session", social, "user", app)
    r = await client.get("/authorize", params=_params(app))
    assert r.status_code == 302 and r.headers["location"].startswith("http://testserver/u/login?state="), r.text
    assert await _count(social, AuthorizationCode) == 0  # the user's code went with them, and none was stored


async def test_authorize_for_a_client_deleted_after_it_was_read_is_the_unknown_client_page(
    client: httpx.AsyncClient, social: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await make_app(social, third_party=False, app_type="regular_web")
    _then_delete(monkeypatch, flow, "current_session", social, "client", app)
    r = await client.get("/authorize", params=_params(app))  # no session: it stores a pending login
    assert r.status_code == 400 and 'data-error="invalid_client"' in r.text


@pytest.mark.parametrize(
    ("what", "status", "error"), [("user", 403, "login_required"), ("client", 400, "invalid_request")]
)
async def test_consent_for_an_app_or_user_deleted_while_the_form_is_answered_writes_nothing(
    client: httpx.AsyncClient, social: Runtime, monkeypatch: pytest.MonkeyPatch, what: str, status: int, error: str
) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    step = await login(client, await authorize(client, _params(app)), EMAIL, PASSWORD)
    assert step.on_consent
    _then_delete(monkeypatch, consent_routes, "_pending", social, what, app)
    r = (await consent(client, step)).response
    assert r.status_code == status and f'data-error="{error}"' in r.text  # session ended / request expired
    assert await _count(social, UserGrant) == 0


async def test_an_unexpected_error_is_a_clean_500_and_is_not_re_raised(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Re-raised, it would make uvicorn close the kept-alive connection (``web.LastResort``); the test client
    (``raise_app_exceptions`` on) would raise it here."""

    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/oauth/boom", boom)
    r = await client.get("/oauth/boom")
    assert r.status_code == 500
    assert r.json() == {"error": "server_error", "error_description": "The server could not complete the request."}
