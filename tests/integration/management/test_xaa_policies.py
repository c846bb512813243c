"""``/api/v2/cross-app-access-policies``: the admin's Cross App Access policies at the enterprise IdP, every
operation and every refusal in Auth0's error shape."""

from __future__ import annotations

import httpx
import pytest

from consentry.runtime import Runtime
from tests.integration.flows.conftest import App, make_app

POLICIES = "/api/v2/cross-app-access-policies"
SAAS = "https://saas.example/"


@pytest.fixture
async def app_(runtime: Runtime) -> App:
    return await make_app(runtime, third_party=False, app_type="regular_web")


async def test_create_read_update_delete(mgmt: httpx.AsyncClient, app_: App) -> None:
    r = await mgmt.post(POLICIES, json={"client_id": app_.client_id, "audience": SAAS, "scope": ["read:notes"]})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["resource_client_id"] == app_.client_id, "the app's own id unless the admin names another"
    assert created["scope"] == ["read:notes"] and "resource" not in created
    pid = created["id"]
    assert (await mgmt.get(f"{POLICIES}/{pid}")).json() == created
    listed = (await mgmt.get(POLICIES, params={"client_id": app_.client_id})).json()
    assert [p["id"] for p in listed] == [pid]
    assert (await mgmt.get(POLICIES, params={"audience": "https://other.example/"})).json() == []
    r = await mgmt.patch(f"{POLICIES}/{pid}", json={"scope": ["read:notes", "write:notes"], "resource_client_id": "x"})
    assert r.status_code == 200 and r.json()["scope"] == ["read:notes", "write:notes"]
    assert r.json()["resource_client_id"] == "x"
    assert (await mgmt.delete(f"{POLICIES}/{pid}")).status_code == 204
    gone = await mgmt.get(f"{POLICIES}/{pid}")
    assert gone.status_code == 404 and gone.json()["errorCode"] == "inexistent_xaa_policy"
    assert (await mgmt.delete(f"{POLICIES}/{pid}")).status_code == 404
    logs = (await mgmt.get("/api/v2/logs")).json()
    assert {"xaa_policy.created", "xaa_policy.updated", "xaa_policy.deleted"} <= {
        e.get("details", {}).get("event") for e in logs
    }


async def test_policies_go_with_their_app(mgmt: httpx.AsyncClient, app_: App) -> None:
    pid = (await mgmt.post(POLICIES, json={"client_id": app_.client_id, "audience": SAAS})).json()["id"]
    assert (await mgmt.delete(f"/api/v2/clients/{app_.client_id}")).status_code == 204
    assert (await mgmt.get(f"{POLICIES}/{pid}")).status_code == 404


APP = "<the app>"  # replaced by the fixture's client_id


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"audience": SAAS}, 400, "client_id"),
        ({"client_id": "nobody", "audience": SAAS}, 404, "client"),
        ({"client_id": APP, "audience": "not a url"}, 400, "audience"),
        ({"client_id": APP, "audience": "ftp://saas.example/"}, 400, "audience"),
        ({"client_id": APP, "audience": SAAS, "resource": "mcp"}, 400, "resource"),
        ({"client_id": APP, "audience": SAAS, "scope": ["has space"]}, 400, "scope"),
        ({"client_id": APP, "audience": SAAS, "scope": "read:notes"}, 400, "scope"),
        ({"client_id": APP, "audience": SAAS, "unknown": True}, 400, "unknown"),
        ({"client_id": APP, "audience": "https://x.example/" + "x" * 600}, 400, "audience"),
    ],
)
async def test_invalid_bodies_are_refused(
    mgmt: httpx.AsyncClient, app_: App, body: dict[str, object], status: int, words: str
) -> None:
    sent = {k: (app_.client_id if v == APP else v) for k, v in body.items()}
    r = await mgmt.post(POLICIES, json=sent)
    assert r.status_code == status, r.text
    err = r.json()
    assert err["statusCode"] == status and {"error", "message", "errorCode"} <= set(err)
    assert words in err["message"], err


async def test_a_duplicate_is_a_conflict(mgmt: httpx.AsyncClient, app_: App) -> None:
    body = {"client_id": app_.client_id, "audience": SAAS, "resource": SAAS + "mcp"}
    assert (await mgmt.post(POLICIES, json=body)).status_code == 201
    r = await mgmt.post(POLICIES, json=body)
    assert r.status_code == 409 and r.json()["errorCode"] == "already_exists"


async def test_an_unknown_field_on_update_is_refused(mgmt: httpx.AsyncClient, app_: App) -> None:
    pid = (await mgmt.post(POLICIES, json={"client_id": app_.client_id, "audience": SAAS})).json()["id"]
    r = await mgmt.patch(f"{POLICIES}/{pid}", json={"audience": "https://other.example/"})
    assert r.status_code == 400
    assert (await mgmt.patch(f"{POLICIES}/nope", json={"scope": []})).status_code == 404


async def test_the_api_needs_a_token(client: httpx.AsyncClient) -> None:
    r = await client.get(POLICIES)
    assert r.status_code == 401 and r.json()["statusCode"] == 401
