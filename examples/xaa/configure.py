"""Cross App Access example, step 1: configure the two Consentry tenants through their Management APIs.

    python examples/xaa/configure.py --idp http://127.0.0.1:8080/ --idp-client ID:SECRET \
        --saas http://127.0.0.1:8081/ --saas-client ID:SECRET --resource http://127.0.0.1:9200/mcp

``--idp-client`` and ``--saas-client`` are M2M credentials for each Management API (``consentry admin create-client
--name ops`` prints them). Prints one JSON object: what the agent needs (``agent.py`` reads it).

The enterprise IdP (where the user signs in) gets:
  - the **agent** app: a confidential app that signs users in (authorization code + PKCE) and may use the token
    exchange grant;
  - the **SaaS login** app: the client the SaaS uses for single sign-on through this IdP;
  - a **Cross App Access policy**: the agent may ask for ID-JAGs for the SaaS (its issuer), for the Notes
    resource, with ``read:notes write:notes``, as the client the SaaS knows it by. This is the admin's decision
    for every user: nobody is asked for consent.
The SaaS authorization server (in front of the Notes MCP server) gets:
  - the **Notes API** (the MCP server's resource identifier) with ``read:notes`` and ``write:notes``;
  - an **enterprise OIDC connection** to the IdP with Cross App Access on;
  - the **agent**, registered as a third-party app with the Cross App Access toggle (the jwt-bearer grant), and a
    client grant with what the SaaS admin allows it: ``read:notes`` only.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from typing import Any

import httpx

SCOPES = ["read:notes", "write:notes"]
SAAS_ALLOWS = ["read:notes"]  # the SaaS admin's ceiling for the agent
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DASHBOARD_CALLBACK = "https://notes.example/callback"


@dataclass(frozen=True)
class Setup:
    """What the agent needs: its credentials at both servers, where they are, and the MCP resource."""

    idp: str
    saas: str
    resource: str
    agent_callback: str
    idp_client_id: str
    idp_client_secret: str
    saas_client_id: str
    saas_client_secret: str
    connection: str
    saas_dashboard_id: str  # the SaaS's own web app (where the user signed in through SSO before)
    saas_dashboard_secret: str
    saas_dashboard_callback: str


def management(base_url: str, client_id: str, client_secret: str) -> httpx.Client:
    """An httpx client authorized for ``base_url``'s Management API (client credentials)."""
    r = httpx.post(
        f"{base_url}oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": f"{base_url}api/v2/",
        },
        timeout=10,
    )
    r.raise_for_status()
    token = r.json()["access_token"]
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _created(r: httpx.Response) -> dict[str, Any]:
    if r.status_code not in (200, 201):
        raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:500]}")
    return r.json()  # type: ignore[no-any-return]


def configure_idp(idp: httpx.Client, saas_issuer: str, resource: str, agent_callback: str) -> dict[str, Any]:
    """The enterprise IdP: the agent app, the SaaS's login client, and the admin's policy. Returns both apps."""
    agent = _created(
        idp.post(
            "/api/v2/clients",
            json={
                "name": "Notes Agent",
                "app_type": "regular_web",
                "callbacks": [agent_callback],
                "grant_types": ["authorization_code", TOKEN_EXCHANGE],
            },
        )
    )
    saas_login = _created(
        idp.post(
            "/api/v2/clients",
            json={
                "name": "Notes SaaS (single sign-on)",
                "app_type": "regular_web",
                "callbacks": [f"{saas_issuer}login/callback"],
                "grant_types": ["authorization_code"],
            },
        )
    )
    return {"agent": agent, "saas_login": saas_login}


def add_policy(idp: httpx.Client, agent_id: str, saas_issuer: str, resource: str, **names: str) -> dict[str, Any]:
    return _created(
        idp.post(
            "/api/v2/cross-app-access-policies",
            json={"client_id": agent_id, "audience": saas_issuer, "resource": resource, "scope": SCOPES, **names},
        )
    )


def configure_saas(saas: httpx.Client, idp_issuer: str, login_client: dict[str, Any], resource: str) -> dict[str, Any]:
    """The SaaS: the Notes API, the enterprise connection to the IdP, the agent as a third-party app."""
    _created(
        saas.post(
            "/api/v2/resource-servers",
            json={
                "identifier": resource,
                "name": "Notes",
                "scopes": [
                    {"value": "read:notes", "description": "Read your notes"},
                    {"value": "write:notes", "description": "Add notes"},
                ],
            },
        )
    )
    agent = _created(
        saas.post(
            "/api/v2/clients",
            json={
                "name": "Notes Agent",
                "app_type": "regular_web",
                "is_first_party": False,
                "callbacks": ["https://agent.example/unused"],
                "grant_types": [JWT_BEARER],
            },
        )
    )
    dashboard = _created(
        saas.post(
            "/api/v2/clients",
            json={
                "name": "Notes dashboard",
                "app_type": "regular_web",
                "callbacks": [DASHBOARD_CALLBACK],
                "grant_types": ["authorization_code"],
            },
        )
    )
    _created(
        saas.post(
            "/api/v2/client-grants",
            json={"client_id": agent["client_id"], "audience": resource, "scope": SAAS_ALLOWS, "subject_type": "user"},
        )
    )
    _created(
        saas.post(
            "/api/v2/connections",
            json={
                "name": "corp",
                "strategy": "oidc",
                "display_name": "Corp SSO",
                "is_domain_connection": True,
                "enabled_clients": [agent["client_id"], dashboard["client_id"]],
                "options": {
                    "type": "back_channel",
                    "issuer": idp_issuer,
                    "client_id": login_client["client_id"],
                    "client_secret": login_client["client_secret"],
                    "scope": "openid profile email",
                    "cross_app_access": True,
                },
            },
        )
    )
    return {"agent": agent, "dashboard": dashboard}


def configure(
    idp_url: str, idp_creds: tuple[str, str], saas_url: str, saas_creds: tuple[str, str], resource: str, callback: str
) -> Setup:
    with management(idp_url, *idp_creds) as idp, management(saas_url, *saas_creds) as saas:
        at_idp = configure_idp(idp, saas_url, resource, callback)
        at_saas = configure_saas(saas, idp_url, at_idp["saas_login"], resource)
        add_policy(
            idp,
            at_idp["agent"]["client_id"],
            saas_url,
            resource,
            resource_client_id=at_saas["agent"]["client_id"],
            subject_client_id=at_idp["saas_login"]["client_id"],
        )
    return Setup(
        idp=idp_url,
        saas=saas_url,
        resource=resource,
        agent_callback=callback,
        idp_client_id=at_idp["agent"]["client_id"],
        idp_client_secret=at_idp["agent"]["client_secret"],
        saas_client_id=at_saas["agent"]["client_id"],
        saas_client_secret=at_saas["agent"]["client_secret"],
        connection="corp",
        saas_dashboard_id=at_saas["dashboard"]["client_id"],
        saas_dashboard_secret=at_saas["dashboard"]["client_secret"],
        saas_dashboard_callback=DASHBOARD_CALLBACK,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idp", required=True, help="the enterprise IdP's issuer (trailing slash)")
    parser.add_argument("--idp-client", required=True, help="ID:SECRET for the IdP's Management API")
    parser.add_argument("--saas", required=True, help="the SaaS authorization server's issuer (trailing slash)")
    parser.add_argument("--saas-client", required=True, help="ID:SECRET for the SaaS's Management API")
    parser.add_argument("--resource", required=True, help="the Notes MCP server's resource (http://HOST:PORT/mcp)")
    parser.add_argument("--callback", default="http://127.0.0.1:9300/callback", help="the agent's redirect URI")
    args = parser.parse_args()
    idp_creds = tuple(args.idp_client.split(":", 1))
    saas_creds = tuple(args.saas_client.split(":", 1))
    setup = configure(args.idp, idp_creds, args.saas, saas_creds, args.resource, args.callback)  # type: ignore[arg-type]
    print(json.dumps(asdict(setup), indent=2))


if __name__ == "__main__":
    main()
