"""The code and refresh grants re-check consent and the user in their write (``oauth/grants/presented.py``).

Both grants read their row, sign the tokens outside any transaction, then consume the row with one
conditional ``UPDATE``. A consent revoked or a user blocked after the read but before the write must still
win: no token is issued, the row stays unused and no refresh token is stored. The window is opened here by
running the revocation inside the token minting, which happens exactly between the two.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, update

from consentry.oauth.grants import authorization_code, refresh_token
from consentry.runtime import Runtime
from consentry.services.usage import UsageMarks
from consentry.storage.models import AuthorizationCode, Client, RefreshToken, User, UserGrant
from consentry.tokens import ids
from tests.integration.flows.conftest import API, PASSWORD, App, grant, make_app
from tests.support.flow import authorize, consent, exchange, login, pkce_pair


async def _code(client: httpx.AsyncClient, rt: Runtime) -> tuple[App, str, str]:
    app = await make_app(rt, third_party=True)
    await grant(rt, default=True)
    verifier, challenge = pkce_pair()
    params = {
        "client_id": app.client_id,
        "redirect_uri": app.callback,
        "response_type": "code",
        "scope": "read:posts offline_access",
        "audience": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s",
    }
    step = await consent(client, await login(client, await authorize(client, params), "alice@example.com", PASSWORD))
    return app, step.params["code"], verifier


async def _refresh(client: httpx.AsyncClient, app: App, token: str) -> httpx.Response:
    return await client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "client_id": app.client_id, "refresh_token": token}
    )


def _interfere(monkeypatch: pytest.MonkeyPatch, module: Any, rt: Runtime, statement: Any) -> None:
    """Run ``statement`` in its own transaction just before the grant signs its tokens."""
    real: Callable[..., Awaitable[Any]] = module.mint_user_tokens

    async def mint(*args: Any, **kwargs: Any) -> Any:
        async with rt.db.transaction() as s:
            await s.execute(statement)
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, "mint_user_tokens", mint)


async def _count(rt: Runtime, client_id: str) -> int:
    async with rt.db.read() as s:
        return int(
            await s.scalar(select(func.count()).select_from(RefreshToken).where(RefreshToken.client_id == client_id))
            or 0
        )


@pytest.mark.parametrize("interference", ["revoke consent", "block user"])
async def test_refresh_loses_to_a_revocation_between_read_and_write(
    client: httpx.AsyncClient, social: Runtime, monkeypatch: pytest.MonkeyPatch, interference: str
) -> None:
    app, code, verifier = await _code(client, social)
    tokens = (await exchange(client, code, app.client_id, app.callback, verifier)).json()
    statement = delete(UserGrant) if interference == "revoke consent" else update(User).values(blocked=True)
    _interfere(monkeypatch, refresh_token, social, statement)
    r = await _refresh(client, app, tokens["refresh_token"])
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"
    async with social.db.read() as s:
        old = await s.scalar(select(RefreshToken).where(RefreshToken.token_hash == ids.digest(tokens["refresh_token"])))
    assert old is not None and old.rotated_at is None  # not consumed
    assert await _count(social, app.client_id) == 1  # and no successor stored


@pytest.mark.parametrize(("interference", "hint"), [("revoke consent", "consent"), ("block user", "blocked")])
async def test_code_exchange_loses_to_a_revocation_between_read_and_write(
    client: httpx.AsyncClient, social: Runtime, monkeypatch: pytest.MonkeyPatch, interference: str, hint: str
) -> None:
    app, code, verifier = await _code(client, social)
    statement = delete(UserGrant) if interference == "revoke consent" else update(User).values(blocked=True)
    _interfere(monkeypatch, authorization_code, social, statement)
    r = await exchange(client, code, app.client_id, app.callback, verifier)
    assert r.status_code == 403 and r.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid authorization code",
    }
    monkeypatch.undo()
    async with social.db.read() as s:
        row = await s.get(AuthorizationCode, ids.digest(code))
    assert row is not None and row.consumed_at is None
    assert await _count(social, app.client_id) == 0
    again = await exchange(client, code, app.client_id, app.callback, verifier)  # now refused at the read
    assert again.status_code == 403 and hint in again.json()["error_description"]


async def test_last_used_at_is_written_once_per_interval(client: httpx.AsyncClient, social: Runtime) -> None:
    social.usage = UsageMarks(interval=3600)
    app, code, verifier = await _code(client, social)
    tokens = (await exchange(client, code, app.client_id, app.callback, verifier)).json()

    async def used() -> tuple[float | None, float | None]:
        async with social.db.read() as s:
            client_used = await s.scalar(select(Client.last_used_at).where(Client.client_id == app.client_id))
            grant_used = await s.scalar(select(UserGrant.last_used_at).where(UserGrant.client_id == app.client_id))
        return client_used, grant_used

    first = await used()
    assert first[0] is not None and first[1] is not None
    r = await _refresh(client, app, tokens["refresh_token"])
    assert r.status_code == 200 and r.json()["refresh_token"] != tokens["refresh_token"]
    assert await used() == first  # within the interval: not written again
    social.usage = UsageMarks(interval=0)
    r = await _refresh(client, app, r.json()["refresh_token"])
    assert r.status_code == 200
    later = await used()
    assert later[0] is not None and later[1] is not None and later[0] >= first[0] and later[1] >= first[1]
    assert later != first
