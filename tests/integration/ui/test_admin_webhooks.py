"""Dashboard webhooks page: create (secret shown once), refusals next to the field, CSRF, the delivery history,
disable/enable, rotate, delete. SQLite and PostgreSQL each."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from consentry.commands.clients import ClientCreate
from consentry.runtime import Runtime
from consentry.services import webhooks
from consentry.services.clients import create_client
from tests.integration.ui.conftest import csrf_of, text_of


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"webhooks_allow_http_loopback": False}


async def _create(admin: httpx.AsyncClient, **form: Any) -> httpx.Response:
    csrf = csrf_of((await admin.get("/admin/webhooks/new")).text)
    data = {"csrf": csrf, "url": "https://hooks.example.com/in", "event_types": ["client.created"], **form}
    return await admin.post("/admin/webhooks/new", data=data)


async def test_create_shows_the_secret_once_then_the_history(admin: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await _create(admin, description="CRM")
    assert r.status_code == 200, r.text[:500]
    secret = re.search(r'id="webhook-secret">(whsec_[^<]+)<', r.text)
    assert secret and "cannot be shown again" in text_of(r.text)
    rows, _ = await webhooks.list_subscriptions(runtime, offset=0, limit=5)
    [row] = rows
    async with runtime.db.transaction() as s:
        await create_client(runtime, s, ClientCreate(name="Hooked", app_type="non_interactive"))
    page = await admin.get(f"/admin/webhooks/{row.id}")
    assert page.status_code == 200 and secret.group(1) not in page.text
    text = text_of(page.text)
    assert "https://hooks.example.com/in" in text and "client.created Pending 0" in text
    listing = text_of((await admin.get("/admin/webhooks")).text)
    assert "https://hooks.example.com/in" in listing and "CRM" in listing and "Enabled" in listing

    csrf = csrf_of(page.text)
    r = await admin.post(f"/admin/webhooks/{row.id}/toggle", data={"csrf": csrf})
    assert r.status_code == 303
    assert "Disabled" in text_of((await admin.get(f"/admin/webhooks/{row.id}")).text)
    r = await admin.post(f"/admin/webhooks/{row.id}/rotate-secret", data={"csrf": csrf})
    rotated = re.search(r'id="webhook-secret">(whsec_[^<]+)<', r.text)
    assert r.status_code == 200 and rotated and rotated.group(1) != secret.group(1)
    r = await admin.post(f"/admin/webhooks/{row.id}/delete", data={"csrf": csrf})
    assert r.status_code == 303
    assert (await admin.get(f"/admin/webhooks/{row.id}")).status_code == 404


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"url": "http://127.0.0.1:9000/in"}, "url", "CONSENTRY_WEBHOOKS_ALLOW_HTTP_LOOPBACK"),
        ({"url": "not-a-url"}, "url", "absolute https URL"),
        ({"event_types": []}, "event_types", "at least one event type"),
        ({"event_types": ["grant.deleted"]}, "event_types", "unknown event type"),
    ],
)
async def test_refusals_show_next_to_the_field_and_keep_the_input(
    admin: httpx.AsyncClient, runtime: Runtime, form: dict[str, Any], field: str, message: str
) -> None:
    r = await _create(admin, **form)
    assert r.status_code == 200 and 'id="webhook-secret"' not in r.text
    assert re.search(rf'id="(f|g)-{field}-error">[^<]*{re.escape(message)}', r.text), r.text[-3000:]
    assert (await webhooks.list_subscriptions(runtime, offset=0, limit=5))[1] == 0


async def test_forms_need_the_csrf_token(admin: httpx.AsyncClient, runtime: Runtime) -> None:
    data = {"url": "https://hooks.example.com/in", "event_types": ["client.created"], "csrf": "0" * 64}
    r = await admin.post("/admin/webhooks/new", data=data)
    assert r.status_code == 403 and "CSRF check failed" in text_of(r.text)
    assert (await webhooks.list_subscriptions(runtime, offset=0, limit=5))[1] == 0
    assert (await _create(admin)).status_code == 200
    [row], _ = await webhooks.list_subscriptions(runtime, offset=0, limit=5)
    for action in ("toggle", "rotate-secret", "delete"):
        r = await admin.post(f"/admin/webhooks/{row.id}/{action}", data={"csrf": "x"})
        assert r.status_code == 403, action
    assert (await admin.get(f"/admin/webhooks/{row.id}")).status_code == 200
