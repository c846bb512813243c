"""/api/v2/tenants/settings: defaults, shallow merge with flags one level deep, validation, fields."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from consentry.runtime import Runtime
from consentry.storage.models import Tenant
from consentry.tenant import DEFAULT_SETTINGS
from tests.integration.management.helpers import assert_error, token_with

URL = "/api/v2/tenants/settings"


async def test_defaults_and_field_selection(mgmt: httpx.AsyncClient) -> None:
    got = (await mgmt.get(URL)).json()
    assert got == DEFAULT_SETTINGS
    assert (await mgmt.get(URL, params={"fields": "friendly_name,flags"})).json() == {
        "friendly_name": "Consentry",
        "flags": DEFAULT_SETTINGS["flags"],
    }
    dropped = (await mgmt.get(URL, params={"fields": "flags", "include_fields": "false"})).json()
    assert "flags" not in dropped and dropped["friendly_name"] == "Consentry"


async def test_patch_merges_and_stores_only_what_was_set(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await mgmt.patch(URL, json={"flags": {"use_scope_descriptions_for_consent": True}, "friendly_name": "Acme"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["flags"] == {**DEFAULT_SETTINGS["flags"], "use_scope_descriptions_for_consent": True}
    assert got["friendly_name"] == "Acme" and got["default_directory"] == DEFAULT_SETTINGS["default_directory"]
    r = await mgmt.patch(
        URL,
        json={
            "flags": {"enable_dynamic_client_registration": True},
            "allowed_logout_urls": ["https://acme.example/bye"],
        },
    )
    flags = r.json()["flags"]
    assert flags["use_scope_descriptions_for_consent"] is True and flags["enable_dynamic_client_registration"] is True
    assert r.json()["friendly_name"] == "Acme"
    assert (await mgmt.get(URL)).json() == r.json()
    async with runtime.db.read() as s:
        stored = (await s.scalar(select(Tenant).where(Tenant.id == 1))).settings  # type: ignore[union-attr]
    assert stored == {
        "friendly_name": "Acme",
        "allowed_logout_urls": ["https://acme.example/bye"],
        "flags": {"use_scope_descriptions_for_consent": True, "enable_dynamic_client_registration": True},
    }
    # the cached tenant seen by the flows changes at once in this process
    assert (await runtime.catalog.tenant())["flags"]["use_scope_descriptions_for_consent"] is True
    reset = (await mgmt.patch(URL, json={"friendly_name": None})).json()
    assert reset["friendly_name"] == "Consentry"


async def test_invalid_patches_write_nothing(mgmt: httpx.AsyncClient) -> None:
    before = (await mgmt.get(URL)).json()
    bodies: list[dict[str, object]] = [
        {"unknown_setting": 1},
        {"flags": {"use_scope_descriptions_for_consent": "true"}},
        {"flags": {"x": 1}},
        {"flags": {"Bad Name": True}},
        {"flags": []},
        {"friendly_name": 5},
        {"session_lifetime": "long"},
        {"session_lifetime": -1},
        {"dynamic_client_registration_security_mode": "lax"},
        {"allowed_logout_urls": "https://x"},
        {"default_directory": "No-Such-Connection"},
    ]
    for body in bodies:
        assert_error(await mgmt.patch(URL, json=body), 400, "invalid_body")
    assert_error(await mgmt.patch(URL, content=b"{", headers={"content-type": "application/json"}), 400, "invalid_body")
    assert_error(await mgmt.patch(URL, json=["flags"]), 400, "invalid_body")
    assert (await mgmt.get(URL)).json() == before


async def test_scopes_are_enforced(client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await token_with(client, runtime, "read:tenant_settings")
    assert (await client.get(URL, headers=headers)).status_code == 200
    assert_error(await client.patch(URL, json={}, headers=headers), 403, "insufficient_scope")
    headers = await token_with(client, runtime, "update:tenant_settings")
    assert_error(await client.get(URL, headers=headers), 403, "insufficient_scope")
