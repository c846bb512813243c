"""Cross App Access example, step 2: the requesting agent.

    python examples/xaa/agent.py setup.json        # setup.json: what configure.py printed

1. **Sign in at the enterprise IdP** (authorization code + PKCE, ``scope=openid``): the only time the user sees a
   page. The agent gets an ID token.
2. **Exchange it at the IdP for an ID-JAG** (RFC 8693 token exchange, ``requested_token_type`` id-jag,
   ``audience`` = the SaaS's issuer, ``resource`` = the Notes MCP server): the IdP's admin policy decides, no
   consent screen.
3. **Redeem the ID-JAG at the SaaS** (RFC 7523 jwt-bearer grant): an access token for the Notes resource, with
   the scopes the SaaS admin allows the agent; no refresh token.
4. **Call an MCP tool** with it (the official MCP Python SDK, streamable HTTP).

The browser step is a function (``Browser``): from the command line it prints the URL and asks for the address
the browser landed on; tests drive the sign-in pages with a scripted browser.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
Browser = Callable[[str], Awaitable[str]]  # authorize URL -> the callback URL the browser was sent to


@dataclass
class Run:
    """What the agent obtained at each step (for the curious, and for tests)."""

    id_token: str = ""
    exchange: dict[str, Any] | None = None
    access: dict[str, Any] | None = None
    tool_result: Any = None


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def sign_in(http: httpx.AsyncClient, setup: dict[str, Any], browser: Browser) -> str:
    """Step 1: the user signs in at the IdP; the agent exchanges the code for an ID token."""
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(16)
    query = {
        "response_type": "code",
        "client_id": setup["idp_client_id"],
        "redirect_uri": setup["agent_callback"],
        "scope": "openid",
        "state": state,
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    landed = dict(parse_qsl(urlsplit(await browser(f"{setup['idp']}authorize?{urlencode(query)}")).query))
    if landed.get("state") != state or "code" not in landed:
        raise RuntimeError(f"the sign-in did not complete: {landed}")
    r = await http.post(
        f"{setup['idp']}oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": landed["code"],
            "redirect_uri": setup["agent_callback"],
            "code_verifier": verifier,
        },
        auth=(setup["idp_client_id"], setup["idp_client_secret"]),
    )
    r.raise_for_status()
    return str(r.json()["id_token"])


async def id_jag_for(http: httpx.AsyncClient, setup: dict[str, Any], id_token: str) -> dict[str, Any]:
    """Step 2: the ID token for an ID-JAG for the SaaS (its issuer) and the Notes resource."""
    r = await http.post(
        f"{setup['idp']}oauth/token",
        data={
            "grant_type": TOKEN_EXCHANGE,
            "requested_token_type": ID_JAG,
            "subject_token": id_token,
            "subject_token_type": ID_TOKEN,
            "audience": setup["saas"],
            "resource": setup["resource"],
            "scope": "read:notes write:notes",
        },
        auth=(setup["idp_client_id"], setup["idp_client_secret"]),
    )
    if r.status_code != 200:
        raise RuntimeError(f"the IdP refused the exchange: {r.text}")
    return r.json()  # type: ignore[no-any-return]


async def redeem(http: httpx.AsyncClient, setup: dict[str, Any], id_jag: str) -> dict[str, Any]:
    """Step 3: the ID-JAG for an access token at the SaaS (RFC 7523 jwt-bearer)."""
    r = await http.post(
        f"{setup['saas']}oauth/token",
        data={"grant_type": JWT_BEARER, "assertion": id_jag},
        auth=(setup["saas_client_id"], setup["saas_client_secret"]),
    )
    if r.status_code != 200:
        raise RuntimeError(f"the SaaS refused the ID-JAG: {r.text}")
    return r.json()  # type: ignore[no-any-return]


async def call_tool(resource: str, access_token: str, tool: str, arguments: dict[str, Any]) -> Any:
    """Step 4: one MCP tool call with the access token (the official MCP Python SDK)."""
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {access_token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as mcp_http,
        streamable_http_client(resource, http_client=mcp_http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        return await session.call_tool(tool, arguments)


async def run(setup: dict[str, Any], browser: Browser) -> Run:
    out = Run()
    async with httpx.AsyncClient(timeout=30) as http:
        out.id_token = await sign_in(http, setup, browser)
        out.exchange = await id_jag_for(http, setup, out.id_token)
        out.access = await redeem(http, setup, out.exchange["access_token"])
    out.tool_result = await call_tool(setup["resource"], out.access["access_token"], "list_notes", {})
    return out


async def ask_the_user(url: str) -> str:
    print(f"Open this address, sign in, and paste the address your browser lands on:\n\n  {url}\n", file=sys.stderr)
    return input("> ").strip()


def main() -> None:
    with open(sys.argv[1]) as f:
        setup = json.load(f)
    result = asyncio.run(run(setup, ask_the_user))
    assert result.access is not None
    print(json.dumps({"scope": result.access.get("scope"), "tool_result": str(result.tool_result)}, indent=2))


if __name__ == "__main__":
    main()
