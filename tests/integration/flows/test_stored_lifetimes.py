"""A client's ID token lifetime on the wire: the accepted value sets ``exp``; a bad value already stored (before
validation on write, or by hand) makes the server default apply, where it used to be a 500 (issue 17)."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import update

from consentry.runtime import Runtime
from consentry.storage.models import Client
from tests.integration.flows.conftest import CALLBACK, PASSWORD, make_app
from tests.support.flow import authorize, exchange, login, pkce_pair

HUGE = int("9" * 400)


async def test_accepted_lifetime_sets_the_id_token_exp(
    mgmt: httpx.AsyncClient, social: Runtime, client: httpx.AsyncClient
) -> None:
    app = await make_app(social, third_party=False, jwt_configuration={"lifetime_in_seconds": 600})
    claims = await _id_token(client, app)
    assert claims["exp"] - claims["iat"] == 600


@pytest.mark.parametrize(
    "stored", ["600", -1, 1e308, HUGE, None, [1]], ids=["string", "negative", "1e308", "huge", "null", "list"]
)
async def test_a_bad_stored_lifetime_falls_back_to_the_default(
    social: Runtime, client: httpx.AsyncClient, stored: Any
) -> None:
    """The issue's 500: a string stored as ``lifetime_in_seconds``. Now the server default applies."""
    app = await make_app(social, third_party=False)
    async with social.db.transaction() as s:
        await s.execute(
            update(Client)
            .where(Client.client_id == app.client_id)
            .values(attributes={"jwt_configuration": {"alg": "RS256", "lifetime_in_seconds": stored}})
        )
    social.catalog.invalidate()
    claims = await _id_token(client, app)
    assert claims["exp"] - claims["iat"] == social.settings.id_token_lifetime


async def _id_token(client: httpx.AsyncClient, app: Any) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    step = await authorize(
        client,
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    step = await login(client, step, "alice@example.com", PASSWORD)
    r = await exchange(client, step.params["code"], app.client_id, CALLBACK, verifier, app.secret)
    assert r.status_code == 200, r.text
    return dict(jwt.decode(r.json()["id_token"], options={"verify_signature": False}))
