"""A new ES256 key ring is seen by every process at once (PostgreSQL, two ``consentry serve`` processes).

Process A makes the ring when it signs the first ES256 token of an API that opted in; B, which has cached its
key set for ``CONSENTRY_CACHE_TTL=30`` seconds, must accept that token and publish the new keys in the very next
request: the key rows bump the configuration counter in their own transaction, and B reloads its keys before a
request that finds the counter moved. No polling, no sleep.
"""

from __future__ import annotations

import httpx
import jwt
import pytest

from tests.faults.conftest import Pair
from tests.faults.test_notify import _mgmt

pytestmark = pytest.mark.fault

EC_API = "https://ec.faults.example/"


async def test_a_ring_made_by_one_process_verifies_on_the_other_at_once(pg_pair: Pair) -> None:
    world, (a, b) = pg_pair.world, pg_pair.bases
    async with httpx.AsyncClient(timeout=10) as http:
        auth = await _mgmt(http, a, world)
        body = {"identifier": EC_API, "name": "EC", "signing_alg": "ES256", "scopes": [{"value": "read:ec"}]}
        r = await http.post(f"{a}api/v2/resource-servers", headers=auth, json=body)
        assert r.status_code == 201, r.text
        grant = {"client_id": world.m2m_id, "audience": EC_API, "scope": ["read:ec"]}
        r = await http.post(f"{a}api/v2/client-grants", headers=auth, json=grant)
        assert r.status_code == 201, r.text
        assert not [k for k in (await http.get(f"{b}.well-known/jwks.json")).json()["keys"] if k["kty"] == "EC"]
        creds = {"client_id": world.m2m_id, "client_secret": world.m2m_secret}
        r = await http.post(f"{a}oauth/token", data={"grant_type": "client_credentials", "audience": EC_API, **creds})
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        kid = jwt.get_unverified_header(token)["kid"]
        assert kid in {k["kid"] for k in (await http.get(f"{b}.well-known/jwks.json")).json()["keys"]}
        r = await http.post(f"{b}oauth/introspect", data={"token": token, **creds})
        assert r.status_code == 200 and r.json()["active"] is True, r.text
