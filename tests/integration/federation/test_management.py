"""``/api/v2/connections`` with ``strategy: "oidc"``: Auth0's options checked on write, the secret never echoed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from consentry.runtime import Runtime
from consentry.storage.models import Connection
from tests.integration.federation.conftest import oidc_options
from tests.integration.management.helpers import assert_error
from tests.support.upstream_idp import UpstreamIdP


async def test_create_read_and_patch_an_oidc_connection(
    mgmt: httpx.AsyncClient, runtime: Runtime, idp: UpstreamIdP
) -> None:
    r = await mgmt.post(
        "/api/v2/connections",
        json={
            "name": "corp",
            "strategy": "oidc",
            "is_domain_connection": True,
            "options": oidc_options(idp, domain_aliases=["Corp.Example"]),
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["strategy"] == "oidc" and body["is_domain_connection"] is True
    assert "client_secret" not in body["options"] and body["options"]["domain_aliases"] == ["corp.example"]
    assert body["options"]["type"] == "back_channel" and body["options"]["client_id"] == "consentry-at-corp"
    async with runtime.db.read() as s:
        stored = await s.scalar(select(Connection.options).where(Connection.id == body["id"]))
    assert stored["client_secret"].startswith("fernet:") and "upstream-client-secret" not in str(stored)
    patched = await mgmt.patch(f"/api/v2/connections/{body['id']}", json={"options": body["options"]})
    assert patched.status_code == 200, patched.text
    async with runtime.db.read() as s:
        kept = await s.scalar(select(Connection.options).where(Connection.id == body["id"]))
    assert kept["client_secret"].startswith("fernet:"), "a PATCH without client_secret keeps the stored one"
    listed = await mgmt.get("/api/v2/connections", params={"strategy": "oidc"})
    assert [c["name"] for c in listed.json()] == ["corp"]


BAD_OPTIONS = [
    ("no_client_id", {"client_id": None}),
    ("no_issuer_nor_discovery", {"issuer": None}),
    ("back_channel_without_secret", {"client_secret": None}),
    ("scope_without_openid", {"scope": "profile email"}),
    ("unknown_type", {"type": "side_channel"}),
    ("bad_domain", {"domain_aliases": ["not a domain"]}),
    ("bad_issuer_url", {"issuer": "javascript:alert(1)"}),
    ("symmetric_alg", {"id_token_signed_response_algs": ["HS256"]}),
    ("private_key_jwt", {"token_endpoint_auth_method": "private_key_jwt"}),
]


@pytest.mark.parametrize(("case", "change"), BAD_OPTIONS, ids=[c[0] for c in BAD_OPTIONS])
async def test_unusable_options_are_refused(
    mgmt: httpx.AsyncClient, idp: UpstreamIdP, case: str, change: dict[str, Any]
) -> None:
    options = {k: v for k, v in {**oidc_options(idp), **change}.items() if v is not None}
    r = await mgmt.post("/api/v2/connections", json={"name": "corp", "strategy": "oidc", "options": options})
    assert_error(r, 400, "invalid_body")


async def test_front_channel_needs_no_secret(mgmt: httpx.AsyncClient, idp: UpstreamIdP) -> None:
    options = {k: v for k, v in oidc_options(idp, type="front_channel").items() if k != "client_secret"}
    r = await mgmt.post("/api/v2/connections", json={"name": "corp", "strategy": "oidc", "options": options})
    assert r.status_code == 201, r.text


async def test_users_cannot_be_created_in_an_oidc_connection(mgmt: httpx.AsyncClient, idp: UpstreamIdP) -> None:
    assert (
        await mgmt.post("/api/v2/connections", json={"name": "corp", "strategy": "oidc", "options": oidc_options(idp)})
    ).status_code == 201
    r = await mgmt.post("/api/v2/users", json={"connection": "corp", "email": "a@corp.example", "password": "x" * 12})
    assert_error(r, 400, "invalid_body")
