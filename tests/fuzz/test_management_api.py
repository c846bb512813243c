"""Schemathesis over the Management API, in process: every operation, valid and invalid inputs.

Checks for every generated request: no 5xx, the status code is one the schema declares, the content type and
the body match the declared response. Half the time a path parameter is replaced by the id of a real object
(seeded through the API first), so updates and deletes reach existing rows, not only 404s.

One hypothesis test per database draws the operation for each example (so the tenant is set up once, not once
per operation): ``FUZZ_EXAMPLES`` per operation on SQLite (default 12), half that on PostgreSQL.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.fuzz.schema import management_operations, request_kwargs, validate
from tests.security.summary import add_fuzz_examples

pytestmark = pytest.mark.fuzz

OPERATIONS = management_operations()
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
LABELS = [op.label for op in OPERATIONS]


def _settings(per_operation: int) -> settings:
    return settings(
        max_examples=per_operation * len(OPERATIONS),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _strategy(operation: Any) -> st.SearchStrategy[Any]:
    strategies = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
    try:
        strategies.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    except Exception:  # noqa: BLE001 - an operation without inputs has no invalid form
        pass
    return st.one_of(strategies)


STRATEGIES = {op.label: _strategy(op) for op in OPERATIONS}


@pytest.fixture
async def seeded(client: httpx.AsyncClient, mgmt_token: str) -> dict[str, list[str]]:
    """Real objects to aim path parameters at (never the fuzzer's own M2M client)."""
    auth = {"Authorization": f"Bearer {mgmt_token}"}

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await client.post(path, json=body, headers=auth)
        assert r.status_code == 201, r.text
        return dict(r.json())

    app = await post("/api/v2/clients", {"name": "Fuzz target", "callbacks": ["https://fuzz.example.com/cb"]})
    third = await post("/api/v2/clients", {"name": "Fuzz partner", "is_first_party": False})
    api = await post(
        "/api/v2/resource-servers",
        {
            "identifier": "https://fuzz.example.com/api",
            "name": "Fuzz API",
            "scopes": [{"value": "read:things", "description": "Read"}],
        },
    )
    cg = await post(
        "/api/v2/client-grants",
        {"client_id": app["client_id"], "audience": api["identifier"], "scope": ["read:things"]},
    )
    user = await post(
        "/api/v2/users",
        {
            "email": "fuzz@example.com",
            "password": "fuzzing password 1",
            "connection": "Username-Password-Authentication",
        },
    )
    hook = await post("/api/v2/webhooks", {"url": "https://fuzz.example.com/hook", "event_types": ["grant.created"]})
    connections = (await client.get("/api/v2/connections", headers=auth)).json()
    keys = (await client.get("/api/v2/keys/signing", headers=auth)).json()
    logs = (await client.get("/api/v2/logs", headers=auth)).json()
    return {
        "client_id": [app["client_id"], third["client_id"]],
        "rs_id": [api["id"]],
        "grant_id": [cg["id"]],
        "user_id": [user["user_id"]],
        "connection_id": [c["id"] for c in connections],
        "kid": [k["kid"] for k in keys],
        "log_id": [entry["log_id"] for entry in logs[:3]],
        "webhook_id": [hook["id"]],
    }


async def _one(data: st.DataObject, client: httpx.AsyncClient, mgmt_token: str, seeded: dict[str, list[str]]) -> None:
    label = data.draw(st.sampled_from(LABELS), label="operation")
    case = data.draw(STRATEGIES[label], label="case")
    for name in list(case.path_parameters or {}):
        if seeded.get(name) and data.draw(st.booleans(), label=f"real {name}"):
            case.path_parameters[name] = data.draw(st.sampled_from(seeded[name]), label=name)
    response = await client.request(**request_kwargs(case, mgmt_token))
    add_fuzz_examples(label)
    validate(case, response)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@_settings(EXAMPLES)
@given(data=st.data())
async def test_management_api(
    data: st.DataObject, client: httpx.AsyncClient, mgmt_token: str, seeded: dict[str, list[str]]
) -> None:
    await _one(data, client, mgmt_token, seeded)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@_settings(max(1, EXAMPLES // 2))
@given(data=st.data())
async def test_management_api_on_postgresql(
    data: st.DataObject, client: httpx.AsyncClient, mgmt_token: str, seeded: dict[str, list[str]]
) -> None:
    await _one(data, client, mgmt_token, seeded)
