"""Acceptance with a second Consentry (a live server) as the upstream provider: a user of the upstream's database
signs in to a third-party app here through a domain-level OIDC connection, and consents here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from consentry.commands.connections import ConnectionCreate
from consentry.runtime import Runtime
from consentry.services.connections import create_connection
from tests.integration.federation.conftest import choose, to_login_page
from tests.integration.flows.conftest import App, grant, make_api, make_app
from tests.support.flow import consent, exchange, follow
from tests.support.form_driver import drive
from tests.support.live_server import LiveProcess, live_server

CALLBACK = "http://testserver/login/callback"
PASSWORD = "upstream horse battery"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """The upstream Consentry, its user, and a confidential client whose callback is ours."""
    with live_server(tmp_path_factory.mktemp("upstream")) as (base_url, process):
        yield base_url, _register(base_url, process)


def _register(base_url: str, process: LiveProcess) -> dict[str, Any]:
    process.cli("users", "create", "--email", "carol@upstream.example", "--password", PASSWORD, "--name", "Carol")
    ops = process.cli("admin", "create-client", "--name", "ops")
    token = httpx.post(
        f"{base_url}oauth/token", data={"grant_type": "client_credentials", **ops, "audience": f"{base_url}api/v2/"}
    ).json()["access_token"]
    r = httpx.post(
        f"{base_url}api/v2/clients",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "name": "Downstream Consentry",
            "app_type": "regular_web",
            "callbacks": [CALLBACK],
            "grant_types": ["authorization_code"],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"connections_allow_private_addresses": True, "connections_fetch_timeout": 5.0}


async def test_a_user_signs_in_through_another_consentry_and_consents_here(
    client: httpx.AsyncClient, runtime: Runtime, upstream: tuple[str, dict[str, Any]]
) -> None:
    base_url, registration = upstream
    await make_api(runtime)
    app: App = await make_app(runtime, third_party=True)
    await grant(runtime, client_id=app.client_id, scope=["read:posts"])
    options = {
        "type": "back_channel",
        "issuer": base_url,
        "client_id": registration["client_id"],
        "client_secret": registration["client_secret"],
        "scope": "openid profile email",
    }
    async with runtime.db.transaction() as s:
        await create_connection(
            runtime,
            s,
            ConnectionCreate(name="upstream", strategy="oidc", options=options, is_domain_connection=True),
            actor=None,
        )
    runtime.catalog.invalidate()
    step, verifier = await to_login_page(client, app)
    r = await choose(client, step, "upstream")
    assert r.status_code == 303 and r.headers["location"].startswith(f"{base_url}authorize?"), r.text[:400]
    async with httpx.AsyncClient(timeout=10) as browser_at_upstream:
        back = await drive(
            browser_at_upstream,
            r.headers["location"],
            CALLBACK,
            {"username": "carol@upstream.example", "password": PASSWORD},
        )
    step = await follow(client, await client.get(back.replace("http://testserver", "")))
    assert step.on_consent, step.page[:600]
    step = await consent(client, step)
    token = await exchange(client, step.params["code"], app.client_id, app.callback, verifier)
    assert token.status_code == 200, token.text
    sub = jwt.decode(token.json()["access_token"], options={"verify_signature": False})["sub"]
    assert sub.startswith("oidc|upstream|auth0|")
