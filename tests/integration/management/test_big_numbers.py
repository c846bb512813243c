"""Free-form JSON members may hold integers beyond 64 bits: they are stored and echoed, never a 500."""

from __future__ import annotations

import httpx


async def test_huge_integer_in_tenant_settings_is_echoed(mgmt: httpx.AsyncClient) -> None:
    huge = 2**70
    r = await mgmt.patch("/api/v2/tenants/settings", json={"sessions": {"x": huge}})
    assert r.status_code == 200, r.text
    assert r.json()["sessions"]["x"] == huge
    again = await mgmt.get("/api/v2/tenants/settings")
    assert again.status_code == 200 and again.json()["sessions"]["x"] == huge
