"""Configuration and key changes reach every process at once over PostgreSQL LISTEN/NOTIFY.

Two ``consentry serve`` processes share one PostgreSQL with ``CONSENTRY_CACHE_TTL=30``: without the
notification, process B would keep serving its cached client grant (and key set) for up to 30 seconds
after process A changed it. Here B must follow within ``BOUND`` seconds: after a rotation, B signs with the
promoted key and publishes the new next key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import jwt
import pytest

from tests.faults.conftest import Pair
from tests.load.report import record
from tests.load.world import API, World

pytestmark = pytest.mark.fault

TTL = 30
BOUND = 3.0  # seconds; an order of magnitude under the TTL


async def _until(check: Callable[[], Awaitable[bool]], bound: float = BOUND) -> float:
    """Seconds until ``check()`` holds (polling every 50 ms); fails after ``bound``."""
    t0 = time.monotonic()
    while not await check():
        assert time.monotonic() - t0 < bound, f"not seen within {bound} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - t0


async def _mgmt(http: httpx.AsyncClient, base: str, world: World) -> dict[str, str]:
    r = await http.post(
        f"{base}oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": world.m2m_id,
            "client_secret": world.m2m_secret,
            "audience": world.management_audience,
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _scenario(world: World, a: str, b: str) -> dict[str, float]:
    seen: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=10) as http:
        auth = await _mgmt(http, a, world)
        svc_body = {"name": "svc", "app_type": "non_interactive", "grant_types": ["client_credentials"]}
        r = await http.post(f"{a}api/v2/clients", headers=auth, json=svc_body)
        assert r.status_code == 201, r.text
        svc = r.json()
        form = {
            "grant_type": "client_credentials",
            "client_id": svc["client_id"],
            "client_secret": svc["client_secret"],
            "audience": API,
        }
        r = await http.post(
            f"{a}api/v2/client-grants",
            headers=auth,
            json={"client_id": svc["client_id"], "audience": API, "scope": ["read:posts"]},
        )
        assert r.status_code == 201, r.text
        grant_id = r.json()["id"]

        async def b_issues() -> bool:
            return (await http.post(f"{b}oauth/token", data=form)).status_code == 200

        seen["grant created"] = await _until(b_issues)  # B had cached "no grant" only if it looked before
        assert await b_issues()  # B now holds the grant in its 30 s cache
        assert (await http.delete(f"{a}api/v2/client-grants/{grant_id}", headers=auth)).status_code == 204

        async def b_refuses() -> bool:
            r = await http.post(f"{b}oauth/token", data=form)
            return r.status_code == 403 and r.json()["error"] == "access_denied"

        seen["grant deleted"] = await _until(b_refuses)

        async def kids(base: str) -> set[str]:
            """The RS256 ring's published keys (an ES256 ring, made by another test of the pair, rotates too)."""
            keys = (await http.get(f"{base}.well-known/jwks.json")).json()["keys"]
            return {k["kid"] for k in keys if k["alg"] == "RS256"}

        async def b_signs_with() -> str:
            return str(jwt.get_unverified_header((await _mgmt(http, b, world))["Authorization"][7:])["kid"])

        assert len(await kids(b)) == 2, "the current and the next key"
        token_b = await _mgmt(http, b, world)  # signed by B with the old key
        old_kid = await b_signs_with()
        r = await http.post(f"{a}api/v2/keys/signing/rotate", headers=auth)
        assert r.status_code == 201, r.text
        new_kid = r.json()["kid"]
        assert new_kid in await kids(b), "the promoted key was published before the rotation"
        keys = (await http.get(f"{a}api/v2/keys/signing", headers=auth)).json()
        new_next = next(k["kid"] for k in keys if k["next"] and k["alg"] == "RS256")

        async def b_follows() -> bool:
            return new_next in await kids(b) and await b_signs_with() == new_kid

        seen["key rotated"] = await _until(b_follows)
        r = await http.put(f"{a}api/v2/keys/signing/{old_kid}/revoke", headers=auth)
        assert r.status_code == 200, r.text

        async def b_drops_old() -> bool:
            if old_kid in await kids(b):
                return False
            return (await http.get(f"{b}api/v2/clients", headers=token_b)).status_code == 401

        seen["key revoked"] = await _until(b_drops_old)
    return seen


def test_a_change_through_one_process_reaches_the_other_well_under_the_cache_ttl(pg_pair: Pair) -> None:
    a, b = pg_pair.bases
    seen = asyncio.run(_scenario(pg_pair.world, a, b))
    slowest = max(seen.values())
    record(
        f"notify: with cache_ttl {TTL} s, the other process followed within {slowest * 1000:.0f} ms "
        f"({', '.join(f'{k} {v * 1000:.0f} ms' for k, v in seen.items())})"
    )
