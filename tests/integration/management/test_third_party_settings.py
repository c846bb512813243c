"""Restricted and immutable settings of third-party apps on ``/api/v2/clients`` (issue 18, items 4 and 5)."""

from __future__ import annotations

import httpx
import pytest

CB = "https://partner.example.com/cb"


async def _third_party(mgmt: httpx.AsyncClient, **extra: object) -> dict:
    r = await mgmt.post(
        "/api/v2/clients",
        json={"name": "Partner", "app_type": "spa", "is_first_party": False, "callbacks": [CB], **extra},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _count(mgmt: httpx.AsyncClient) -> int:
    return len((await mgmt.get("/api/v2/clients")).json())


# Item 5: immutability, no client id import.


@pytest.mark.parametrize(("field", "value"), [("is_first_party", True), ("third_party_security_mode", "permissive")])
async def test_third_party_identity_is_fixed_at_creation(mgmt: httpx.AsyncClient, field: str, value: object) -> None:
    c = await _third_party(mgmt)
    r = await mgmt.patch(f"/api/v2/clients/{c['client_id']}", json={field: value})
    assert r.status_code == 400 and r.json()["statusCode"] == 400 and field in r.json()["message"]
    again = (await mgmt.get(f"/api/v2/clients/{c['client_id']}")).json()
    assert again["is_first_party"] is False and again["third_party_security_mode"] == "strict"


async def test_first_party_cannot_become_third_party(mgmt: httpx.AsyncClient) -> None:
    c = (await mgmt.post("/api/v2/clients", json={"name": "Ours", "app_type": "spa"})).json()
    r = await mgmt.patch(f"/api/v2/clients/{c['client_id']}", json={"is_first_party": False})
    assert r.status_code == 400 and "is_first_party cannot be changed" in r.json()["message"]


async def test_client_id_import_refused_for_third_party_apps(mgmt: httpx.AsyncClient) -> None:
    before = await _count(mgmt)
    r = await mgmt.post("/api/v2/clients", json={"name": "P", "is_first_party": False, "client_id": "imported123"})
    assert r.status_code == 400
    assert r.json()["message"] == "Property 'client_id' cannot be set on third-party applications."
    assert await _count(mgmt) == before


async def test_client_id_import_for_first_party_apps(mgmt: httpx.AsyncClient) -> None:
    r = await mgmt.post("/api/v2/clients", json={"name": "Moved", "client_id": "legacy-app_1"})
    assert r.status_code == 201 and r.json()["client_id"] == "legacy-app_1"
    assert (await mgmt.get("/api/v2/clients/legacy-app_1")).status_code == 200
    dup = await mgmt.post("/api/v2/clients", json={"name": "Again", "client_id": "legacy-app_1"})
    assert dup.status_code == 409 and dup.json()["errorCode"] == "client_conflict"
    for bad in ("tpc_looks_strict", "has space", "x" * 129):
        assert (await mgmt.post("/api/v2/clients", json={"name": "B", "client_id": bad})).status_code == 400


# Item 4: restricted settings.


@pytest.mark.parametrize(
    "extra",
    [
        {"sso": True},
        {"addons": {"aws": {}}},
        {"cross_origin_authentication": True},
        {"custom_login_page_on": True},
        {"allowed_clients": ["x"]},
        {"organization_usage": "allow"},
        {"native_social_login": {}},
        {"skip_non_verifiable_callback_uri_confirmation_prompt": True},
        {"is_token_endpoint_ip_header_trusted": True},
    ],
    ids=lambda e: next(iter(e)),
)
async def test_first_party_only_properties_are_refused_naming_the_property(
    mgmt: httpx.AsyncClient, extra: dict
) -> None:
    before = await _count(mgmt)
    r = await mgmt.post("/api/v2/clients", json={"name": "P", "is_first_party": False, "callbacks": [CB], **extra})
    name = next(iter(extra))
    assert r.status_code == 400
    assert r.json()["message"] == f"Property '{name}' cannot be set on third-party applications."
    assert await _count(mgmt) == before
    c = await _third_party(mgmt)
    r = await mgmt.patch(f"/api/v2/clients/{c['client_id']}", json=extra)
    assert r.status_code == 400 and name in r.json()["message"]
    ours = await mgmt.post("/api/v2/clients", json={"name": "Ours", **extra})
    assert ours.status_code == 201, ours.text


async def test_settable_properties_are_accepted(mgmt: httpx.AsyncClient) -> None:
    c = await _third_party(
        mgmt,
        description="A partner",
        logo_uri="https://partner.example.com/l.png",
        allowed_logout_urls=["https://partner.example.com/bye"],
        web_origins=["https://partner.example.com"],
        client_metadata={"tier": "gold"},
        jwt_configuration={"alg": "RS256", "lifetime_in_seconds": 600},
        refresh_token={"rotation_type": "rotating", "expiration_type": "expiring", "token_lifetime": 86400},
    )
    assert c["description"] == "A partner" and c["jwt_configuration"]["lifetime_in_seconds"] == 600


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"jwt_configuration": {"alg": "HS256"}}, "Input should be 'RS256': jwt_configuration.alg"),
        ({"refresh_token": {"rotation_type": "non-rotating", "expiration_type": "non-expiring"}}, "must expire"),
        ({"refresh_token": {"infinite_token_lifetime": True}}, "must expire"),
        ({"refresh_token": {"rotation_type": "non-rotating"}}, "always rotate"),
        ({"callbacks": ["https://*.partner.example.com/cb"]}, "wildcards are not allowed"),
        ({"allowed_logout_urls": ["https://*.partner.example.com/"]}, "wildcards are not allowed"),
        ({"web_origins": ["https://*.partner.example.com"]}, "must be an origin"),
    ],
    ids=[
        "hs256",
        "non-expiring",
        "infinite",
        "non-rotating",
        "wildcard-callback",
        "wildcard-logout",
        "wildcard-origin",
    ],
)
async def test_restricted_values_are_refused(mgmt: httpx.AsyncClient, extra: dict, message: str) -> None:
    r = await mgmt.post("/api/v2/clients", json={"name": "P", "is_first_party": False, "callbacks": [CB], **extra})
    assert r.status_code == 400 and message in r.json()["message"], r.text
    c = await _third_party(mgmt)
    r = await mgmt.patch(f"/api/v2/clients/{c['client_id']}", json=extra)
    assert r.status_code == 400 and message in r.json()["message"], r.text


async def test_refresh_tokens_of_third_party_spa_rotate_and_expire_by_default(mgmt: httpx.AsyncClient) -> None:
    c = await _third_party(mgmt)
    assert c["refresh_token"]["rotation_type"] == "rotating" and c["refresh_token"]["expiration_type"] == "expiring"
    assert c["jwt_configuration"]["alg"] == "RS256"
