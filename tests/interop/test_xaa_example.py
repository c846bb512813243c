"""examples/xaa end to end: two Consentry servers (the enterprise IdP and the SaaS authorization server in front of
the Notes MCP server) and the requesting agent of examples/xaa/agent.py.

The user signs in once, at the IdP. The agent exchanges the ID token for an ID-JAG there (the IdP admin's
policy, no consent screen), redeems it at the SaaS (jwt-bearer: no second login, no consent) and calls an MCP
tool. The SaaS knows the user from an earlier single sign-on (the resource side accepts ID-JAGs only for users
of the connection). Then Authlib's RFC 7523 JWT bearer grant client redeems another ID-JAG.
"""

from __future__ import annotations

import base64
import importlib.util
import secrets
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest

from tests.interop.harness import ROOT
from tests.interop.test_mcp_sdk import NotesServer
from tests.support.form_driver import drive
from tests.support.live_server import LiveProcess, free_port, live_server

pytestmark = pytest.mark.interop
EMAIL, PASSWORD = "dana@corp.example", "enterprise horse battery"
PRIVATE_OK = {"CONSENTRY_CONNECTIONS_ALLOW_PRIVATE_ADDRESSES": "true"}


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"xaa_{name}", ROOT / "examples" / "xaa" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


configure, agent = _example("configure"), _example("agent")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveProcess, LiveProcess, NotesServer]]:
    """The IdP on 127.0.0.1, the SaaS on ``localhost``: two hosts, so one browser keeps two cookie jars."""
    idp_dir, saas_dir = tmp_path_factory.mktemp("idp"), tmp_path_factory.mktemp("saas")
    port = free_port()
    saas_env = {**PRIVATE_OK, "CONSENTRY_PORT": str(port), "CONSENTRY_ISSUER": f"http://localhost:{port}/"}
    with live_server(idp_dir) as (_, idp), live_server(saas_dir, saas_env) as (_, saas):
        notes = NotesServer(saas.issuer, saas_dir)
        try:
            yield idp, saas, notes
        finally:
            notes.stop()


@pytest.fixture(scope="module")
def setup(servers: tuple[LiveProcess, LiveProcess, NotesServer]) -> dict[str, Any]:
    idp, saas, notes = servers
    idp.cli("users", "create", "--email", EMAIL, "--password", PASSWORD, "--name", "Dana")
    idp_ops, saas_ops = (
        idp.cli("admin", "create-client", "--name", "ops"),
        saas.cli("admin", "create-client", "--name", "ops"),
    )
    done = configure.configure(
        idp.issuer,
        (idp_ops["client_id"], idp_ops["client_secret"]),
        saas.issuer,
        (saas_ops["client_id"], saas_ops["client_secret"]),
        notes.resource,
        "http://127.0.0.1:9/agent-callback",
    )
    return asdict(done)


def browser(stop_prefix: str) -> Any:
    """A scripted browser that signs Dana in wherever it is sent, until it is sent to ``stop_prefix``."""

    async def go(url: str) -> str:
        async with httpx.AsyncClient(timeout=20) as http:
            return await drive(http, url, stop_prefix, {"username": EMAIL, "password": PASSWORD})

    return go


async def sso_once_at_the_saas(setup: dict[str, Any]) -> None:
    """Dana used the SaaS before, through single sign-on with the IdP: the SaaS has her user for the connection."""
    query = {
        "response_type": "code",
        "client_id": setup["saas_dashboard_id"],
        "redirect_uri": setup["saas_dashboard_callback"],
        "scope": "openid",
        "state": secrets.token_urlsafe(8),
        "connection": setup["connection"],
    }
    landed = await browser(setup["saas_dashboard_callback"])(f"{setup['saas']}authorize?{urlencode(query)}")
    assert "code=" in landed, landed


async def test_the_agent_reaches_the_mcp_server_with_one_sign_in(setup: dict[str, Any]) -> None:
    await sso_once_at_the_saas(setup)
    pages: list[str] = []
    sign_in = browser(setup["agent_callback"])

    async def counted(url: str) -> str:
        pages.append(url)
        return await sign_in(url)

    run = await agent.run(setup, counted)
    assert len(pages) == 1 and pages[0].startswith(setup["idp"]), "the user signs in once, at the IdP"
    assert run.exchange["issued_token_type"] == agent.ID_JAG and run.exchange["token_type"] == "N_A"
    assert set(run.access) == {"access_token", "token_type", "expires_in", "scope"}, "no refresh token"
    idp_sub = jwt.decode(run.id_token, options={"verify_signature": False})["sub"]
    claims = jwt.decode(run.access["access_token"], options={"verify_signature": False})
    assert claims["iss"] == setup["saas"] and claims["aud"] == setup["resource"]
    assert claims["sub"] == f"oidc|{setup['connection']}|{idp_sub}", "the user from the enterprise connection"
    assert claims["scope"] == run.access["scope"] == "read:notes", "what the SaaS admin allows, not more"
    assert claims["client_id"] == setup["saas_client_id"]
    assert not run.tool_result.is_error and run.tool_result.structured_content == {"result": []}


async def test_authlib_jwt_bearer_client_redeems_an_id_jag(setup: dict[str, Any]) -> None:
    """Authlib's assertion client for the RFC 7523 grant (``authlib.oauth2.rfc7523.JWTBearerGrant``), handed the
    ID-JAG as its assertion, authenticating with HTTP Basic."""
    from authlib.integrations.httpx_client import AsyncAssertionClient

    await sso_once_at_the_saas(setup)
    async with httpx.AsyncClient(timeout=30) as http:
        id_token = await agent.sign_in(http, setup, browser(setup["agent_callback"]))
        id_jag = (await agent.id_jag_for(http, setup, id_token))["access_token"]
    pair = f"{setup['saas_client_id']}:{setup['saas_client_secret']}".encode()
    basic = "Basic " + base64.b64encode(pair).decode()
    async with AsyncAssertionClient(
        f"{setup['saas']}oauth/token",
        issuer=setup["idp"],
        subject="",
        client_id=setup["saas_client_id"],
        headers={"Authorization": basic},
    ) as client:
        client.ASSERTION_METHODS = {client.JWT_BEARER_GRANT_TYPE: lambda **_: id_jag}
        token = await client.refresh_token()
    assert token["token_type"] == "Bearer" and token["scope"] == "read:notes" and "refresh_token" not in token


def test_the_example_documents_its_steps() -> None:
    readme = (Path(ROOT) / "examples" / "xaa" / "README.md").read_text()
    for words in ("configure.py", "agent.py", "token exchange", "jwt-bearer", "Cross App Access policy"):
        assert words in readme
