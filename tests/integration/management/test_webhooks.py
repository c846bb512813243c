"""/api/v2/webhooks: create, read, update, rotate, delete, delivery history; Auth0's error body for bad input,
unknown ids and missing scopes. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from consentry.runtime import Runtime
from consentry.services import webhook_rules
from tests.integration.management.helpers import assert_error, token_with

HOOK = "https://hooks.example.com/consentry"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"webhooks_allow_http_loopback": True}


async def _create(mgmt: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await mgmt.post("/api/v2/webhooks", json={"url": HOOK, "event_types": ["grant.created"], **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_create_answers_the_secret_once_then_read_update_delete(mgmt: httpx.AsyncClient) -> None:
    created = await _create(mgmt, description="CRM sync", event_types=list(webhook_rules.EVENT_TYPES))
    assert created["id"].startswith("whk_") and created["secret"].startswith("whsec_")
    assert created["event_types"] == list(webhook_rules.EVENT_TYPES) and created["enabled"] is True
    got = (await mgmt.get(f"/api/v2/webhooks/{created['id']}")).json()
    assert "secret" not in got and got["url"] == HOOK and got["description"] == "CRM sync"
    listed = (await mgmt.get("/api/v2/webhooks", params={"include_totals": "true"})).json()
    assert listed["total"] == 1 and listed["webhooks"][0]["id"] == created["id"]
    r = await mgmt.patch(
        f"/api/v2/webhooks/{created['id']}",
        json={"enabled": False, "event_types": ["grant.revoked"], "url": "http://127.0.0.1:9/hook"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False and r.json()["event_types"] == ["grant.revoked"] and "secret" not in r.json()
    rotated = (await mgmt.post(f"/api/v2/webhooks/{created['id']}/rotate-secret")).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert (await mgmt.delete(f"/api/v2/webhooks/{created['id']}")).status_code == 204
    assert_error(await mgmt.get(f"/api/v2/webhooks/{created['id']}"), 404, "inexistent_webhook")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": "http://hooks.example.com/x", "event_types": ["grant.created"]}, "url must use https"),
        ({"url": "https://u:p@hooks.example.com/", "event_types": ["grant.created"]}, "user information"),
        ({"url": "not a url", "event_types": ["grant.created"]}, "url must not contain spaces"),
        ({"url": HOOK, "event_types": ["grant.deleted"]}, "unknown event type 'grant.deleted'"),
        ({"url": HOOK, "event_types": ["grant.created", "grant.created"]}, "must not repeat"),
        ({"url": HOOK, "event_types": []}, "Payload validation error"),
        ({"url": HOOK}, "Payload validation error"),
        ({"url": HOOK, "event_types": ["grant.created"], "secret": "whsec_x"}, "Additional properties not allowed"),
        ({"url": 5, "event_types": ["grant.created"]}, "Payload validation error"),
        ({"url": HOOK, "event_types": ["grant.created"], "description": "a\u202eb"}, "printable"),
    ],
)
async def test_create_refuses_bad_input_in_auth0_shape(mgmt: httpx.AsyncClient, body: Any, message: str) -> None:
    body = assert_error(await mgmt.post("/api/v2/webhooks", json=body), 400, "invalid_body")
    assert message in body["message"]


async def test_update_refuses_bad_input_and_unknown_ids(mgmt: httpx.AsyncClient) -> None:
    created = await _create(mgmt)
    path = f"/api/v2/webhooks/{created['id']}"
    assert_error(await mgmt.patch(path, json={"url": "ftp://x.example.com/"}), 400, "invalid_body")
    assert_error(await mgmt.patch(path, json={"enabled": None}), 400, "invalid_body")
    assert_error(await mgmt.patch(path, json={"event_types": ["nope"]}), 400, "invalid_body")
    assert_error(await mgmt.patch("/api/v2/webhooks/whk_missing", json={"enabled": True}), 404, "inexistent_webhook")
    assert_error(await mgmt.delete("/api/v2/webhooks/whk_missing"), 404, "inexistent_webhook")
    assert_error(await mgmt.get("/api/v2/webhooks/" + "x" * 300), 404, "inexistent_webhook")
    assert_error(await mgmt.get("/api/v2/webhooks/whk_missing/deliveries"), 404, "inexistent_webhook")
    assert (await mgmt.get(path)).json()["event_types"] == ["grant.created"]


async def test_scopes_are_required(client: httpx.AsyncClient, runtime: Runtime, mgmt: httpx.AsyncClient) -> None:
    created = await _create(mgmt)
    reader = await token_with(client, runtime, "read:webhooks")
    assert (await client.get("/api/v2/webhooks", headers=reader)).status_code == 200
    r = await client.post("/api/v2/webhooks", json={"url": HOOK, "event_types": ["grant.created"]}, headers=reader)
    assert_error(r, 403, "insufficient_scope")
    assert_error(await client.delete(f"/api/v2/webhooks/{created['id']}", headers=reader), 403, "insufficient_scope")
    assert_error(await client.get("/api/v2/webhooks", headers={"Authorization": ""}), 401, "missing_authorization")


async def test_delivery_history_lists_the_queued_events(mgmt: httpx.AsyncClient) -> None:
    created = await _create(mgmt, event_types=["client.created", "client.deleted"])
    r = await mgmt.post("/api/v2/clients", json={"name": "Hooked", "app_type": "non_interactive"})
    assert r.status_code == 201
    assert (await mgmt.delete(f"/api/v2/clients/{r.json()['client_id']}")).status_code == 204
    history = await mgmt.get(f"/api/v2/webhooks/{created['id']}/deliveries", params={"include_totals": "true"})
    assert history.status_code == 200, history.text
    body = history.json()
    assert body["total"] == 2
    assert [d["event_type"] for d in body["deliveries"]] == ["client.deleted", "client.created"]
    first = body["deliveries"][1]
    assert first["status"] == "pending" and first["attempts"] == 0 and first["id"].startswith("msg_")
    assert first["payload"]["type"] == "client.created" and first["payload"]["data"]["name"] == "Hooked"
