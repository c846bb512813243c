"""The dashboard's approval queue and cleanup for dynamic registrations held until a first consent."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from consentry.clock import FrozenClock
from consentry.runtime import Runtime
from consentry.storage.dcr_models import PendingRegistration
from consentry.storage.models import Tenant
from tests.integration.dcr.conftest import NATIVE, add_api, add_default_grant, register, set_flag
from tests.integration.ui.conftest import csrf_of, text_of


async def _require_approval(rt: Runtime) -> None:
    async with rt.db.transaction() as s:
        row = await s.get(Tenant, 1)
        assert row is not None
        row.settings = {**(row.settings or {}), "dcr_require_approval": True}


async def _held(rt: Runtime) -> int:
    async with rt.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(PendingRegistration)) or 0)


async def test_admin_approves_and_rejects_held_registrations_with_csrf(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.clock = FrozenClock()  # now: sessions and tokens made before stay valid
    await set_flag(runtime, "enable_dynamic_client_registration", True)
    await add_api(runtime)
    await add_default_grant(runtime)
    await _require_approval(runtime)
    keep = (await register(client, NATIVE)).json()
    drop = (await register(client, {**NATIVE, "client_name": "Spam Agent"})).json()

    page = await admin.get("/admin/registrations", params={"status": "pending"})
    text = text_of(page.text)
    assert "Claude Code" in text and "Spam Agent" in text and "held until a first consent" in text
    forged = await admin.post(f"/admin/registrations/{drop['client_id']}/reject", data={"csrf": "forged"})
    assert forged.status_code == 403 and await _held(runtime) == 2
    r = await admin.post(f"/admin/registrations/{drop['client_id']}/reject", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and "notice=rejected" in r.headers["location"]
    r = await admin.post(f"/admin/registrations/{keep['client_id']}/approve", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and "notice=approved" in r.headers["location"]
    again = await admin.post(f"/admin/registrations/{keep['client_id']}/reject", data={"csrf": csrf_of(page.text)})
    assert again.status_code == 303 and "notice=not-pending" in again.headers["location"]
    assert await _held(runtime) == 1
    page = await admin.get("/admin/registrations", params={"status": "held"})
    assert "Claude Code" in text_of(page.text) and "Spam Agent" not in text_of(page.text)

    # Nobody approves it in time: the page says it would go, and why; the button removes it.
    runtime.clock.advance(25 * 3600)
    page = await admin.get("/admin/registrations")
    text = text_of(page.text)
    assert "The next cleanup would remove 1" in text
    assert "Claude Code" in text and "no user approved it within 24 hours of its registration" in text
    r = await admin.post("/admin/registrations/prune", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and await _held(runtime) == 0
