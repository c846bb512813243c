"""An upstream provider (tests/support/upstream_idp.py), an API, apps, and enterprise connections to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from consentry.commands.connections import ConnectionCreate
from consentry.runtime import Runtime
from consentry.services.connections import create_connection
from tests.integration.flows.conftest import App, grant, make_api, make_app
from tests.support.flow import Step, authorize, follow, hidden, pkce_pair
from tests.support.upstream_idp import CLIENT_ID, CLIENT_SECRET, UpstreamIdP


@pytest.fixture(scope="session")
def idp_server() -> Iterator[UpstreamIdP]:
    server = UpstreamIdP()
    yield server
    server.stop()


@pytest.fixture
def idp(idp_server: UpstreamIdP) -> UpstreamIdP:
    idp_server.codes.clear()
    idp_server.token_requests.clear()
    idp_server.script = type(idp_server.script)()
    return idp_server


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """The provider listens on 127.0.0.1 over http: allowed for tests only (refused in production)."""
    return {"connections_allow_private_addresses": True, "connections_fetch_timeout": 2.0}


def oidc_options(idp: UpstreamIdP, **extra: Any) -> dict[str, Any]:
    return {
        "type": "back_channel",
        "issuer": idp.issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "openid profile email",
        **extra,
    }


async def make_connection(
    rt: Runtime,
    idp: UpstreamIdP,
    name: str = "corp",
    *,
    domain_level: bool = True,
    enabled: list[str] | None = None,
    **options: Any,
) -> str:
    body = ConnectionCreate(
        name=name,
        strategy="oidc",
        display_name=f"{name.title()} SSO",
        options=oidc_options(idp, **options),
        is_domain_connection=domain_level,
        enabled_clients=enabled or [],
    )
    async with rt.db.transaction() as s:
        row = await create_connection(rt, s, body, actor=None)
    rt.catalog.invalidate()
    return row.id


@pytest.fixture
async def partner(runtime: Runtime, idp: UpstreamIdP) -> App:
    """A third-party app with a client grant on the Social API, and a domain-level ``corp`` connection."""
    await make_api(runtime)
    app = await make_app(runtime, third_party=True)
    await grant(runtime, client_id=app.client_id, scope=["read:posts"])
    await make_connection(runtime, idp, domain_aliases=["corp.example"])
    return app


def authorize_params(app: App, **extra: str) -> tuple[dict[str, str], str]:
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": app.callback,
        "scope": "openid read:posts",
        "audience": "https://social.example.com",
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return params, verifier


async def choose(client: httpx.AsyncClient, step: Step, connection: str) -> httpx.Response:
    """Press the ``Continue with …`` button of ``connection`` on the login page."""
    assert f'data-connection="{connection}"' in step.page, step.page[:800]
    form = {"state": hidden(step.page, "state"), "csrf": hidden(step.page, "csrf"), "connection": connection}
    return await client.post("/u/login/federated", data=form)


async def at_provider(client: httpx.AsyncClient, idp: UpstreamIdP, response: httpx.Response) -> Step:
    """The browser went to the provider: the user signs in there, and the provider sends them back."""
    assert response.status_code == 303, response.text[:500]
    location = response.headers["location"]
    assert location.startswith(idp.issuer + "/authorize?"), location
    return await follow(client, await client.get("/login/callback", params=idp.issue_code(location)))


async def to_login_page(client: httpx.AsyncClient, app: App, **extra: str) -> tuple[Step, str]:
    params, verifier = authorize_params(app, **extra)
    return await authorize(client, params), verifier
