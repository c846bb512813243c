"""/api/v2/clients: Auth0 shapes, third-party rules (T1–T3) and error paths."""

from __future__ import annotations

import httpx


async def test_requires_a_token_and_scope(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v2/clients")
    assert r.status_code == 401
    assert r.json() == {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "Missing authentication",
        "errorCode": "missing_authorization",
    }
    r = await client.get("/api/v2/clients", headers={"Authorization": "Bearer not.a.jwt"})
    assert r.status_code == 401 and r.json()["errorCode"] == "invalid_token"


async def test_T1_third_party_spa_gets_strict_defaults(mgmt: httpx.AsyncClient) -> None:
    r = await mgmt.post(
        "/api/v2/clients",
        json={
            "name": "Partner SPA",
            "app_type": "spa",
            "is_first_party": False,
            "callbacks": ["https://partner.example.com/callback"],
        },
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["client_id"].startswith("tpc_")
    assert c["third_party_security_mode"] == "strict"
    assert c["redirection_policy"] == "open_redirect_protection"
    assert c["grant_types"] == ["authorization_code", "refresh_token"]
    assert c["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in c  # T2: public clients have no secret


async def test_T3_third_party_grant_types_are_refused_and_nothing_is_written(mgmt: httpx.AsyncClient) -> None:
    for grants in (
        ["password"],
        ["implicit"],
        ["http://auth0.com/oauth/grant-type/password-realm"],
        ["urn:ietf:params:oauth:grant-type:device_code"],
    ):
        r = await mgmt.post("/api/v2/clients", json={"name": "bad", "is_first_party": False, "grant_types": grants})
        assert r.status_code == 400, r.text
        assert r.json()["errorCode"] == "invalid_body"
    r = await mgmt.post(
        "/api/v2/clients",
        json={"name": "spa", "app_type": "spa", "is_first_party": False, "grant_types": ["client_credentials"]},
    )
    assert r.status_code == 400
    listed = (await mgmt.get("/api/v2/clients")).json()
    assert [c["name"] for c in listed] == ["ops"]


async def test_T3_update_cannot_add_password_grant(mgmt: httpx.AsyncClient) -> None:
    c = (
        await mgmt.post("/api/v2/clients", json={"name": "web", "is_first_party": False, "app_type": "regular_web"})
    ).json()
    assert "client_secret" in c
    r = await mgmt.patch(f"/api/v2/clients/{c['client_id']}", json={"grant_types": ["password"]})
    assert r.status_code == 400
    r = await mgmt.patch(f"/api/v2/clients/{c['client_id']}", json={"third_party_security_mode": "permissive"})
    assert r.status_code == 400
    got = (await mgmt.get(f"/api/v2/clients/{c['client_id']}")).json()
    assert got["grant_types"] == ["authorization_code", "refresh_token"]


async def test_crud_paging_and_fields(mgmt: httpx.AsyncClient) -> None:
    created = (await mgmt.post("/api/v2/clients", json={"name": "App A", "callbacks": ["https://a.example/cb"]})).json()
    cid = created["client_id"]
    r = await mgmt.patch(f"/api/v2/clients/{cid}", json={"name": "App B", "logo_uri": "https://a.example/logo.png"})
    assert r.status_code == 200 and r.json()["name"] == "App B"
    page = (await mgmt.get("/api/v2/clients", params={"include_totals": "true", "per_page": 1, "page": 1})).json()
    assert page["total"] == 2 and page["limit"] == 1 and len(page["clients"]) == 1
    past = (await mgmt.get("/api/v2/clients", params={"include_totals": "true", "page": 5})).json()
    assert past["clients"] == []
    only = (await mgmt.get(f"/api/v2/clients/{cid}", params={"fields": "name,client_id"})).json()
    assert only == {"name": "App B", "client_id": cid}
    rotated = await mgmt.post(f"/api/v2/clients/{cid}/rotate-secret")
    assert rotated.status_code == 200 and rotated.json()["client_secret"] != created["client_secret"]
    assert (await mgmt.delete(f"/api/v2/clients/{cid}")).status_code == 204
    missing = await mgmt.get(f"/api/v2/clients/{cid}")
    assert missing.status_code == 404 and missing.json()["errorCode"] == "inexistent_client"


async def test_bad_input_is_400_in_auth0_shape(mgmt: httpx.AsyncClient) -> None:
    bad = [
        b"{not json",
        b'{"name": 5}',
        b'{"name": "x", "unknown_field": 1}',
        b'{"name": "x", "callbacks": "https://a"}',
        b'{"name": "x", "callbacks": ["javascript:alert(1)"]}',
        b'{"name": "x", "callbacks": ["https://*.example.com/cb"]}',
        b'{"name": "<script>"}',
        b"[]",
    ]
    for body in bad:
        r = await mgmt.post("/api/v2/clients", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, (body, r.text)
        assert set(r.json()) == {"statusCode", "error", "message", "errorCode"}
    r = await mgmt.post(
        "/api/v2/clients",
        content=b'{"name":"' + b"x" * (1024 * 1024) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["statusCode"] == 413
    assert len((await mgmt.get("/api/v2/clients")).json()) == 1
