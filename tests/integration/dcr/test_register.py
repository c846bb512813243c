"""POST /oidc/register (RFC 7591, SPEC T9): strict third-party clients, and every refusal stores nothing."""

from __future__ import annotations

import httpx
import pytest

from consentry.runtime import Runtime
from tests.integration.dcr.conftest import (
    NATIVE,
    WEB,
    add_api,
    add_default_grant,
    audit_types,
    count_clients,
    register,
    set_flag,
)


async def test_T9_disabled_registration_is_403_access_denied(client: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await register(client, NATIVE)
    assert r.status_code == 403
    assert r.json() == {
        "error": "access_denied",
        "error_description": "Dynamic client registration is disabled for this tenant.",
    }
    assert r.headers["cache-control"] == "no-store"
    assert "registration_endpoint" not in (await client.get("/.well-known/openid-configuration")).json()
    assert await count_clients(runtime) == 0


async def test_T9_refused_until_a_default_user_grant_exists(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await set_flag(runtime, "enable_dynamic_client_registration", True)
    await add_api(runtime)
    r = await register(client, NATIVE)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_client_metadata"
    assert "no default client grant" in r.json()["error_description"]
    await add_default_grant(runtime, subject_type="client")  # a client_credentials default gives DCR apps nothing
    assert (await register(client, NATIVE)).status_code == 400
    assert await count_clients(runtime) == 0
    await add_default_grant(runtime, subject_type="user")
    assert (await register(client, NATIVE)).status_code == 201


async def test_T9_native_public_client_like_an_mcp_client(client: httpx.AsyncClient, dcr: Runtime) -> None:
    meta = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert meta["registration_endpoint"] == "http://testserver/oidc/register"
    r = await register(
        client,
        {
            **NATIVE,
            "scope": "read:posts offline_access",
            "software_id": "claude-code",
            "software_version": "2.0.1",
            "client_uri": "https://claude.ai",
            "contacts": ["dev@example.com"],
            "unknown_member": {"x": 1},
            "jwks_uri": None,
            "tos_uri": None,
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"
    body = r.json()
    cid = body["client_id"]
    assert cid.startswith("tpc_")
    assert isinstance(body["client_id_issued_at"], int)
    assert body["registration_client_uri"] == f"http://testserver/oidc/register/{cid}"
    assert len(body["registration_access_token"]) >= 40
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    assert {
        k: body[k]
        for k in (
            "client_name",
            "redirect_uris",
            "grant_types",
            "response_types",
            "token_endpoint_auth_method",
            "application_type",
            "scope",
            "software_id",
            "software_version",
            "client_uri",
            "contacts",
        )
    } == {
        "client_name": "Claude Code",
        "redirect_uris": ["http://127.0.0.1:33418/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
        "scope": "read:posts offline_access",
        "software_id": "claude-code",
        "software_version": "2.0.1",
        "client_uri": "https://claude.ai",
        "contacts": ["dev@example.com"],
    }
    assert "unknown_member" not in body and "tos_uri" not in body
    assert (
        await count_clients(
            dcr,
            registration_type="dcr",
            is_first_party=False,
            app_type="native",
            third_party_security_mode="strict",
            status="active",
        )
        == 1
    )
    assert await count_clients(dcr, client_id=cid, registration_ip="127.0.0.1") == 1
    assert "client.created" in await audit_types(dcr)


async def test_T9_confidential_client_gets_a_secret(
    client: httpx.AsyncClient, dcr: Runtime, mgmt: httpx.AsyncClient
) -> None:
    r = await register(client, {**WEB, "logo_uri": "https://partner.example.com/logo.png"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token_endpoint_auth_method"] == "client_secret_basic"  # RFC 7591 §2 default
    assert body["application_type"] == "web"
    assert len(body["client_secret"]) >= 40 and body["client_secret_expires_at"] == 0
    assert body["logo_uri"] == "https://partner.example.com/logo.png"
    got = (await mgmt.get(f"/api/v2/clients/{body['client_id']}")).json()
    assert (got["app_type"], got["is_first_party"], got["registration_type"]) == ("regular_web", False, "dcr")
    assert got["grant_types"] == ["authorization_code", "refresh_token"]
    assert got["third_party_security_mode"] == "strict"
    assert got["redirection_policy"] == "open_redirect_protection"
    # The secret works at the token endpoint (auth passes; the grant type is then refused).
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "audience": "https://api.example.com/"},
        auth=(body["client_id"], body["client_secret"]),
    )
    assert r.status_code == 403 and r.json()["error"] == "unauthorized_client"

    post = (await register(client, {**WEB, "token_endpoint_auth_method": "client_secret_post"})).json()
    assert post["token_endpoint_auth_method"] == "client_secret_post" and post["client_secret"]


async def test_T9_public_web_client_is_a_spa_with_its_origins(
    client: httpx.AsyncClient, dcr: Runtime, mgmt: httpx.AsyncClient
) -> None:
    r = await register(
        client,
        {
            "redirect_uris": ["https://widget.example.com/cb", "https://widget.example.com/cb2"],
            "token_endpoint_auth_method": "none",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["client_name"] == "widget.example.com"  # no client_name: the redirect host names it
    got = (await mgmt.get(f"/api/v2/clients/{body['client_id']}")).json()
    assert got["app_type"] == "spa" and got["web_origins"] == ["https://widget.example.com"]


async def test_native_private_use_scheme_and_ipv6_loopback(client: httpx.AsyncClient, dcr: Runtime) -> None:
    r = await register(
        client,
        {**NATIVE, "redirect_uris": ["com.example.app:/oauth2redirect", "http://[::1]:8080/cb", "http://localhost/cb"]},
    )
    assert r.status_code == 201, r.text


REDIRECT_REFUSALS = [
    ("web", "javascript:alert(1)"),
    ("native", "javascript:alert(1)"),
    ("native", "data:text/html,<script>alert(1)</script>"),
    ("native", "file:///etc/passwd"),
    ("web", "https://partner.example.com/cb#frag"),
    ("native", "http://127.0.0.1:3000/cb#x"),
    ("web", "http://partner.example.com/cb"),
    ("native", "http://partner.example.com/cb"),
    ("web", "http://127.0.0.1:3000/cb"),  # loopback http is for native apps only
    ("web", "com.example.app:/cb"),  # private-use schemes are for native apps only
    ("native", "myapp:/cb"),  # not reverse-DNS
    ("native", "https://*.example.com/cb"),
    ("web", "/relative/cb"),
]


@pytest.mark.parametrize(("application_type", "uri"), REDIRECT_REFUSALS)
async def test_T9_bad_redirect_uri_is_refused_and_nothing_stored(
    client: httpx.AsyncClient, dcr: Runtime, application_type: str, uri: str
) -> None:
    body = {
        "redirect_uris": ["https://ok.example.com/cb", uri],
        "application_type": application_type,
        "token_endpoint_auth_method": "none",
    }
    r = await register(client, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_redirect_uri"
    assert "redirect_uris entry" in r.json()["error_description"]
    assert await count_clients(dcr) == 0
    assert "client.created" not in await audit_types(dcr)


@pytest.mark.parametrize(
    ("body", "error", "fragment"),
    [
        ({}, "invalid_redirect_uri", "redirect_uris is required"),
        ({"redirect_uris": []}, "invalid_redirect_uri", "redirect_uris is required"),
        ({"redirect_uris": None}, "invalid_redirect_uri", "redirect_uris is required"),
        ({**WEB, "redirect_uris": "https://a.example/cb"}, "invalid_client_metadata", "redirect_uris"),
        ({**WEB, "grant_types": ["password"]}, "invalid_client_metadata", "must include authorization_code"),
        ({**WEB, "grant_types": ["client_credentials"]}, "invalid_client_metadata", "must include authorization_code"),
        (
            {**WEB, "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"]},
            "invalid_client_metadata",
            "must include authorization_code",
        ),
        ({**WEB, "grant_types": ["refresh_token"]}, "invalid_client_metadata", "must include authorization_code"),
        (
            {**WEB, "post_logout_redirect_uris": ["javascript:alert(1)"]},
            "invalid_redirect_uri",
            "post_logout_redirect_uris entry",
        ),
        (
            {**WEB, "post_logout_redirect_uris": ["http://partner.example.com/bye"]},
            "invalid_redirect_uri",
            "post_logout_redirect_uris entry",
        ),
        (
            {**WEB, "post_logout_redirect_uris": "https://partner.example.com/bye"},
            "invalid_client_metadata",
            "post_logout_redirect_uris",
        ),
        ({**WEB, "response_types": ["token"]}, "invalid_client_metadata", "Response type 'token'"),
        ({**WEB, "response_types": ["code id_token"]}, "invalid_client_metadata", "Response type"),
        (
            {**WEB, "token_endpoint_auth_method": "private_key_jwt"},
            "invalid_client_metadata",
            "token_endpoint_auth_method",
        ),
        ({**WEB, "application_type": "desktop"}, "invalid_client_metadata", "application_type"),
        ({**WEB, "logo_uri": "javascript:alert(1)"}, "invalid_client_metadata", "logo_uri must be an https URL"),
        ({**WEB, "tos_uri": "http://partner.example.com/tos"}, "invalid_client_metadata", "tos_uri"),
        ({**WEB, "client_name": "<script>"}, "invalid_client_metadata", "client_name"),
        ({**WEB, "client_name": "   "}, "invalid_client_metadata", "client_name"),
        ({**WEB, "client_name": 42}, "invalid_client_metadata", "client_name"),
        ({**WEB, "client_name": "x" * 256}, "invalid_client_metadata", "client_name"),
        ({**WEB, "contacts": "dev@example.com"}, "invalid_client_metadata", "contacts"),
        ({**WEB, "scope": 'read:posts "bad"'}, "invalid_client_metadata", "scope"),
        ({**WEB, "redirect_uris": ["https://a.example/cb"] * 51}, "invalid_client_metadata", "redirect_uris"),
    ],
)
async def test_invalid_metadata_is_refused_and_nothing_stored(
    client: httpx.AsyncClient, dcr: Runtime, body: dict, error: str, fragment: str
) -> None:
    r = await register(client, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == error
    assert fragment in r.json()["error_description"]
    assert await count_clients(dcr) == 0


@pytest.mark.parametrize(
    ("content", "content_type", "fragment"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "must be a JSON object"),
        (b"\xff\xfe{}", "application/json", "not valid JSON"),
        (b"", "application/json", "not valid JSON"),
        (b"redirect_uris=https://a.example/cb", "application/x-www-form-urlencoded", "must be JSON"),
        (b'{"redirect_uris": ["https://a.example/cb"]}', "text/plain", "must be JSON"),
    ],
)
async def test_malformed_bodies_are_invalid_client_metadata(
    client: httpx.AsyncClient, dcr: Runtime, content: bytes, content_type: str, fragment: str
) -> None:
    r = await client.post("/oidc/register", content=content, headers={"content-type": content_type})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_client_metadata"
    assert fragment in r.json()["error_description"]
    assert await count_clients(dcr) == 0


async def test_oversize_body_is_413(client: httpx.AsyncClient, dcr: Runtime) -> None:
    r = await client.post(
        "/oidc/register", content=b'{"x":"' + b"a" * (1024 * 1024) + b'"}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"] == "invalid_request"
    assert await count_clients(dcr) == 0


async def test_json_media_type_with_parameters_is_accepted(client: httpx.AsyncClient, dcr: Runtime) -> None:
    import orjson

    r = await client.post(
        "/oidc/register", content=orjson.dumps(WEB), headers={"content-type": "application/json; charset=utf-8"}
    )
    assert r.status_code == 201, r.text


async def test_flood_from_one_address_is_429(client: httpx.AsyncClient, dcr: Runtime) -> None:
    limit = dcr.settings.dcr_rate_limit_per_minute
    assert limit == 30
    statuses = [
        (await register(client, WEB if i % 2 else {"redirect_uris": ["bad"]})).status_code for i in range(limit)
    ]
    assert set(statuses) == {201, 400}  # failed attempts count too
    r = await register(client, WEB)
    assert r.status_code == 429
    assert r.json()["error"] == "too_many_requests" and r.headers["retry-after"] == "60"
    assert await count_clients(dcr) == limit // 2


async def test_openapi_documents_the_endpoints(client: httpx.AsyncClient, runtime: Runtime) -> None:
    schema = (await client.get("/api/v2/openapi.json")).json()
    paths = schema["paths"]
    assert set(paths["/oidc/register"]) == {"post"}
    assert set(paths["/oidc/register/{client_id}"]) == {"get", "put", "delete"}
    body = paths["/oidc/register"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "redirect_uris" in body["properties"]
    assert {"429", "403", "400", "201"} <= set(paths["/oidc/register"]["post"]["responses"])
    assert "/api/v2/clients/{client_id}/approve" in paths and "/api/v2/dcr/registrations" in paths
