"""Settings are validated on write against Auth0's types and bounds, with a 400 naming the field (issue 17).

What a bad value already stored does to the flows: ``tests/integration/flows/test_stored_lifetimes.py``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.flows.conftest import PASSWORD

HUGE = int("9" * 400)
DEEP: dict[str, Any] = {}
for _ in range(12):
    DEEP = {"a": DEEP}
LIFETIME = "jwt_configuration.lifetime_in_seconds"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v2/clients", {"jwt_configuration": {"lifetime_in_seconds": "600"}}, LIFETIME),
        ("/api/v2/clients", {"jwt_configuration": {"lifetime_in_seconds": -1}}, LIFETIME),
        ("/api/v2/clients", {"jwt_configuration": {"lifetime_in_seconds": 1e308}}, LIFETIME),
        ("/api/v2/clients", {"jwt_configuration": {"lifetime_in_seconds": HUGE}}, LIFETIME),
        ("/api/v2/clients", {"jwt_configuration": {"lifetime_in_seconds": 2592001}}, LIFETIME),
        ("/api/v2/clients", {"jwt_configuration": {"alg": "HS256"}}, "jwt_configuration.alg"),
        ("/api/v2/clients", {"initiate_login_uri": "http://app.example.com/login"}, "initiate_login_uri"),
        ("/api/v2/clients", {"organization_usage": "sometimes"}, "organization_usage"),
        ("/api/v2/clients", {"mobile": {"ios": {"team_id": 7}}}, "mobile.ios.team_id"),
        ("/api/v2/clients", {"addons": {"samlp": {"x": float("nan")}}}, "addons.samlp"),
        ("/api/v2/clients", {"logo_uri": "https://[::1"}, "logo_uri"),
        ("/api/v2/clients", {"oidc_conformant": "true"}, "oidc_conformant"),
        ("/api/v2/resource-servers", {"token_lifetime": 600, "token_lifetime_for_web": 601}, "token_lifetime_for_web"),
        ("/api/v2/resource-servers", {"signing_secret": "short"}, "signing_secret"),
        (
            "/api/v2/resource-servers",
            {"proof_of_possession": {"mechanism": "magic", "required": True}},
            "proof_of_possession.mechanism",
        ),
        ("/api/v2/tenants/settings", {"session_lifetime": HUGE}, "session_lifetime"),
        ("/api/v2/tenants/settings", {"default_redirection_uri": "javascript:alert(1)"}, "default_redirection_uri"),
        ("/api/v2/tenants/settings", {"friendly_name": "Consentry\u202e"}, "friendly_name"),
        ("/api/v2/tenants/settings", {"sessions": DEEP}, "sessions"),
        ("/api/v2/connections", {"options": {"password_history": {"size": 99}}}, "options.password_history.size"),
        ("/api/v2/users", {"picture": "javascript:alert(1)"}, "picture"),
        ("/api/v2/users", {"name": "Alice\u202e"}, "name"),
    ],
)
async def test_hostile_values_are_refused_naming_the_field(
    mgmt: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    target = await _target(mgmt, path)
    r = await mgmt.request("PATCH", target, content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == "invalid_body" and field in r.json()["message"], r.text


async def _target(mgmt: httpx.AsyncClient, path: str) -> str:
    """The PATCH path of a fresh object of that collection."""
    if path == "/api/v2/tenants/settings":
        return path
    if path == "/api/v2/clients":
        return f"{path}/{(await mgmt.post(path, json={'name': 'V'})).json()['client_id']}"
    if path == "/api/v2/resource-servers":
        return f"{path}/{(await mgmt.post(path, json={'identifier': 'https://v.example.com'})).json()['id']}"
    if path == "/api/v2/users":
        r = await mgmt.post(
            path,
            json={"email": "v@example.com", "password": PASSWORD, "connection": "Username-Password-Authentication"},
        )
        return f"{path}/{r.json()['user_id']}"
    return f"{path}/{(await mgmt.get(path)).json()[0]['id']}"
