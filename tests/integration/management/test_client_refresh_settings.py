"""``refresh_token`` on /api/v2/clients: every field Auth0 defines is validated on write and then takes effect
(tests/integration/flows/test_access_follows_decisions.py); what Consentry cannot honour is refused by name."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.management.helpers import assert_error

BASE = {"name": "web", "app_type": "regular_web", "callbacks": ["https://app.example.com/cb"]}
OK = {"rotation_type": "rotating", "expiration_type": "expiring"}


@pytest.mark.parametrize(
    "settings",
    [
        {
            **OK,
            "leeway": 30,
            "token_lifetime": 86400,
            "idle_token_lifetime": 3600,
            "infinite_idle_token_lifetime": False,
        },
        {"rotation_type": "non-rotating", "expiration_type": "non-expiring"},
        {**OK, "infinite_token_lifetime": True, "token_lifetime": 157788000},
    ],
)
async def test_valid_settings_are_stored_and_echoed(mgmt: httpx.AsyncClient, settings: dict[str, Any]) -> None:
    r = await mgmt.post("/api/v2/clients", json={**BASE, "refresh_token": settings})
    assert r.status_code == 201, r.text
    echoed = r.json()["refresh_token"]
    assert {k: echoed[k] for k in settings} == settings
    fetched = (await mgmt.get(f"/api/v2/clients/{r.json()['client_id']}")).json()["refresh_token"]
    assert fetched == echoed


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("leeway", -1),
        ("leeway", "30"),
        ("leeway", 1.5),
        ("leeway", True),
        ("leeway", 10**400),
        ("token_lifetime", 0),
        ("token_lifetime", 157788001),
        ("token_lifetime", "1 day"),
        ("token_lifetime", 1e308),
        ("idle_token_lifetime", 0),
        ("idle_token_lifetime", "1h"),
        ("infinite_token_lifetime", "yes"),
        ("infinite_idle_token_lifetime", 1),
        ("rotation_type", "sometimes"),
        ("expiration_type", "never"),
        ("policies", [{"audience": "https://api.example.com", "scope": ["read"]}]),
        ("unknown_field", 1),
    ],
)
async def test_invalid_settings_are_refused_naming_the_field_and_nothing_is_written(
    mgmt: httpx.AsyncClient, field: str, value: Any
) -> None:
    before = len((await mgmt.get("/api/v2/clients")).json())
    r = await mgmt.post("/api/v2/clients", json={**BASE, "refresh_token": {**OK, field: value}})
    body = assert_error(r, 400, "invalid_body")
    assert field in body["message"], body
    assert len((await mgmt.get("/api/v2/clients")).json()) == before


async def test_rotating_tokens_must_expire(mgmt: httpx.AsyncClient) -> None:
    settings = {"rotation_type": "rotating", "expiration_type": "non-expiring"}
    r = await mgmt.post("/api/v2/clients", json={**BASE, "refresh_token": settings})
    assert "expiration_type" in assert_error(r, 400, "invalid_body")["message"]


async def test_update_is_validated_the_same_way(mgmt: httpx.AsyncClient) -> None:
    client_id = (await mgmt.post("/api/v2/clients", json=BASE)).json()["client_id"]
    r = await mgmt.patch(f"/api/v2/clients/{client_id}", json={"refresh_token": {**OK, "leeway": "soon"}})
    assert "leeway" in assert_error(r, 400, "invalid_body")["message"]
    r = await mgmt.patch(f"/api/v2/clients/{client_id}", json={"refresh_token": {**OK, "leeway": 5}})
    assert r.status_code == 200 and r.json()["refresh_token"]["leeway"] == 5
