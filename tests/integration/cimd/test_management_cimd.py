"""``/api/v2/clients/cimd/preview`` and ``/register`` over HTTP, against a local HTTPS document server.

The documents are served as ``https://cimd.test:{port}/…`` (cimd.test resolves to the local server here):
a URL naming localhost or 127.0.0.1 is refused by Auth0's URL rules before anything is fetched.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from consentry.oauth.cimd import fetch as cimd_fetch
from consentry.oauth.cimd import resolve_cimd_client
from consentry.runtime import Runtime
from consentry.services.cimd_registration import PRIVATE_KEY_JWT_WARNING
from consentry.storage.models import AuditEvent, Client, Tenant
from tests.integration.cimd.conftest import HOSTNAME, DocServer, Served, store_admin_client
from tests.integration.flows.conftest import promote_default_connection
from tests.integration.management.helpers import assert_error, token_with
from tests.support.flow import authorize, pkce_pair

PREVIEW, REGISTER = "/api/v2/clients/cimd/preview", "/api/v2/clients/cimd/register"
CALLBACK = "http://127.0.0.1:9299/cb"
RSA_KEY = {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "e": "AQAB", "n": "sXch" * 64}


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        if host != HOSTNAME:
            raise OSError("no such host")
        return ["127.0.0.1"]

    monkeypatch.setattr(cimd_fetch, "resolve_host", resolve)


def serve(server: DocServer, path: str = "/agents/a.json", **members: Any) -> str:
    return server.serve_doc(path, host=HOSTNAME, **members)


def serve_jwks(server: DocServer, jwks: Any, path: str = "/agents/jwks.json") -> str:
    server.routes[path] = Served(json.dumps(jwks).encode())
    return server.url(path, HOSTNAME)


async def client_count(runtime: Runtime) -> int:
    async with runtime.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(Client)) or 0)


async def listed(mgmt: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    r = await mgmt.get("/api/v2/clients", params={"external_client_id": url})
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_preview_maps_the_document_and_creates_nothing(
    runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient
) -> None:
    url = serve(server, client_uri="https://agent.example/", logo_uri="https://cdn.example/logo.png")
    before = await client_count(runtime)
    r = await mgmt.post(PREVIEW, json={"external_client_id": url})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "mapped_fields": {
            "external_client_id": url,
            "app_type": "native",
            "name": "Agent",
            "callbacks": [CALLBACK],
            "logo_uri": "https://cdn.example/logo.png",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        },
        "validation": {
            "valid": True,
            "violations": [],
            "warnings": ["Property 'client_uri' is not supported and was ignored."],
        },
    }
    assert await client_count(runtime) == before
    assert await listed(mgmt, url) == []
    assert [req["path"] for req in server.requests] == ["/agents/a.json"]


async def test_preview_lists_every_violation_and_creates_nothing(
    runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient
) -> None:
    url = serve(server, client_secret="s3cret", response_types=["token"], client_name=None)
    before = await client_count(runtime)
    r = await mgmt.post(PREVIEW, json={"external_client_id": url})
    assert r.status_code == 200, r.text
    assert r.json()["validation"] == {
        "valid": False,
        "violations": [
            'response_types must be ["code"].',
            "client_secret members are not allowed: a metadata document has no shared secret.",
        ],
        "warnings": [f"client_name is missing: the application is named after its host ({HOSTNAME})."],
    }
    assert await client_count(runtime) == before


async def test_preview_of_a_document_that_cannot_be_fetched_answers_errors(
    server: DocServer, mgmt: httpx.AsyncClient
) -> None:
    r = await mgmt.post(PREVIEW, json={"external_client_id": server.url("/missing.json", HOSTNAME)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"errors"} and len(body["errors"]) == 1 and "404" in body["errors"][0], body


async def test_preview_names_the_client_already_registered(server: DocServer, mgmt: httpx.AsyncClient) -> None:
    url = serve(server)
    assert (await mgmt.post(REGISTER, json={"external_client_id": url})).status_code == 201
    r = await mgmt.post(PREVIEW, json={"external_client_id": url})
    assert r.status_code == 200 and r.json()["client_id"] == url, r.text


async def test_register_creates_a_strict_third_party_client(
    runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient
) -> None:
    url = serve(server)
    before = await client_count(runtime)
    r = await mgmt.post(REGISTER, json={"external_client_id": url})
    assert r.status_code == 201, r.text
    assert r.json() == {
        "client_id": url,
        "mapped_fields": {
            "external_client_id": url,
            "app_type": "native",
            "name": "Agent",
            "callbacks": [CALLBACK],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        },
        "validation": {"valid": True, "violations": [], "warnings": []},
    }
    assert await client_count(runtime) == before + 1
    [app] = await listed(mgmt, url)
    assert app["client_id"] == url and app["name"] == "Agent" and app["callbacks"] == [CALLBACK]
    assert (app["external_client_id"], app["external_metadata_type"], app["external_metadata_created_by"]) == (
        url,
        "cimd",
        "admin",
    )
    assert app["is_first_party"] is False and app["third_party_security_mode"] == "strict"
    assert app["registration_type"] == "cimd" and app["token_endpoint_auth_method"] == "none"
    assert "client_credentials" not in app["grant_types"] and "client_secret" not in app
    assert "cimd" not in app and "metadata_url_host" not in app
    assert await listed(mgmt, url.replace("a.json", "b.json")) == []
    async with runtime.db.read() as s:
        events = (await s.scalars(select(AuditEvent.type).where(AuditEvent.client_id == url))).all()
    assert list(events) == ["client.created"]


async def test_registered_client_signs_in_at_authorize_without_fetching_again(
    client: httpx.AsyncClient, runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient
) -> None:
    await promote_default_connection(runtime)  # third-party apps sign in through domain-level connections
    url = serve(server)
    assert (await mgmt.post(REGISTER, json={"external_client_id": url})).status_code == 201
    server.routes.clear()  # the document is gone: an administrator's registration is refreshed only on request
    server.requests.clear()
    _, challenge = pkce_pair()
    step = await authorize(
        client,
        {
            "client_id": url,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s1",
        },
    )
    assert step.on_login, step.text[-600:]
    assert server.requests == []


async def test_register_again_refreshes_the_client_with_200(
    runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient
) -> None:
    url = serve(server)
    assert (await mgmt.post(REGISTER, json={"external_client_id": url})).status_code == 201
    serve(server, client_name="Agent 2", redirect_uris=["https://agent.example/cb"], grant_types=["authorization_code"])
    count = await client_count(runtime)
    r = await mgmt.post(REGISTER, json={"external_client_id": url})
    assert r.status_code == 200, r.text
    assert r.json()["client_id"] == url and r.json()["mapped_fields"]["name"] == "Agent 2"
    assert await client_count(runtime) == count
    [app] = await listed(mgmt, url)
    assert (app["name"], app["callbacks"], app["grant_types"]) == (
        "Agent 2",
        ["https://agent.example/cb"],
        ["authorization_code"],
    )
    async with runtime.db.read() as s:
        events = (await s.scalars(select(AuditEvent.type).where(AuditEvent.client_id == url))).all()
    assert sorted(events) == ["client.created", "client.updated"]


async def test_register_takes_over_an_automatic_registration(
    runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient
) -> None:
    url = serve(server)
    await resolve_cimd_client(runtime, url)  # the MCP flow registered it at /authorize
    [app] = await listed(mgmt, url)
    assert app["external_metadata_created_by"] == "client"
    r = await mgmt.post(REGISTER, json={"external_client_id": url})
    assert r.status_code == 200, r.text
    [app] = await listed(mgmt, url)
    assert app["external_metadata_created_by"] == "admin"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://cimd.test/a.json", "must use the https scheme"),
        ("https://localhost/a.json", "must not point at localhost"),
        ("https://127.0.0.1/a.json", "must not point at localhost"),
        ("https://[::1]/a.json", "must not point at localhost"),
        ("https://cimd.test/" + "a" * 103, "must be at most 120 bytes"),
        ("https://cimd.test/a.json?v=1", "must not contain a query string"),
        ("https://cimd.test/a.json#x", "must not contain a fragment"),
        ("https://cimd.test/", "must have a path beyond '/'"),
        ("https://cimd.test/x/%2e%2e/a.json", "must not contain '.' or '..' path segments"),
        ("https://u:p@cimd.test/a.json", "must not contain a user name or password"),
        ("https://cimd.test:0/a.json", "must not use port 0"),
        (" https://cimd.test/a.json", "must not contain whitespace or control characters"),
        ("https://cimd.test/%zz.json", "must follow '%' with two hexadecimal digits"),
        ("", "must be a non-empty URL"),
    ],
)
@pytest.mark.parametrize("path", [PREVIEW, REGISTER])
async def test_url_rules_are_400_before_any_fetch(
    runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient, path: str, url: str, message: str
) -> None:
    before = await client_count(runtime)
    body = assert_error(await mgmt.post(path, json={"external_client_id": url}), 400, "invalid_body")
    assert body["message"] == f"external_client_id {message}."
    assert server.requests == [] and await client_count(runtime) == before


@pytest.mark.parametrize(
    ("members", "violation"),
    [
        ({"client_id": "https://cimd.test/other.json"}, "client_id in the document must equal its URL exactly."),
        ({"client_secret": "s3cret"}, "client_secret members are not allowed"),
        ({"token_endpoint_auth_method": "client_secret_post"}, "must be none or private_key_jwt"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "private_key_jwt needs a jwks_uri"),
        (
            {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://keys.example/jwks.json"},
            "jwks_uri must be on the same origin",
        ),
        ({"jwks": {"keys": [RSA_KEY]}}, "An inline jwks is not supported"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "scheme 'javascript' is not allowed"),
        ({"redirect_uris": []}, "redirect_uris must list 1 to 20 URLs."),
        ({"grant_types": ["authorization_code", "client_credentials"]}, "only authorization_code and refresh_token"),
        ({"response_types": ["token"]}, 'response_types must be ["code"]'),
        ({"client_name": "<b>Bank</b>"}, "client_name must be 1 to 255 visible characters"),
        ({"logo_uri": "http://cdn.example/logo.png"}, "logo_uri must be an https URL."),
    ],
)
async def test_document_rules_are_400_on_register(
    runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient, members: dict[str, Any], violation: str
) -> None:
    url = serve(server, **members)
    before = await client_count(runtime)
    body = assert_error(await mgmt.post(REGISTER, json={"external_client_id": url}), 400, "invalid_client_metadata")
    assert body["message"].startswith(f"The Client Metadata document at {url} cannot be applied: ")
    assert violation in body["message"], body["message"]
    assert await client_count(runtime) == before


@pytest.mark.parametrize(
    "served",
    [
        Served(b"", status=302, headers={"Location": "https://cimd.test/elsewhere.json"}),
        Served(b"{}", status=404),
        Served(b'{"a": 1}', headers={"Content-Type": "text/html"}),
        Served(json.dumps({"padding": "y" * 6000}).encode()),  # over the 5KB document limit
    ],
)
async def test_retrieval_failures_are_400_on_register(
    runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient, served: Served
) -> None:
    server.routes["/agents/r.json"] = served
    url = server.url("/agents/r.json", HOSTNAME)
    before = await client_count(runtime)
    body = assert_error(await mgmt.post(REGISTER, json={"external_client_id": url}), 400, "client_metadata_unavailable")
    assert body["message"].startswith(f"The Client Metadata at {url} could not be retrieved: ")
    assert [req["path"] for req in server.requests] == ["/agents/r.json"]  # a redirect is never followed
    assert await client_count(runtime) == before


async def test_not_json_is_a_document_violation(server: DocServer, mgmt: httpx.AsyncClient) -> None:
    server.routes["/agents/nj.json"] = Served(b"not json")
    body = assert_error(
        await mgmt.post(REGISTER, json={"external_client_id": server.url("/agents/nj.json", HOSTNAME)}),
        400,
        "invalid_client_metadata",
    )
    assert body["message"].endswith("The metadata document is not valid JSON.")


async def test_private_key_jwt_with_a_same_origin_jwks_uri(
    runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient
) -> None:
    jwks_uri = serve_jwks(server, {"keys": [RSA_KEY]})
    url = serve(server, token_endpoint_auth_method="private_key_jwt", jwks_uri=jwks_uri)
    r = await mgmt.post(REGISTER, json={"external_client_id": url})
    assert r.status_code == 201, r.text
    mapped = r.json()["mapped_fields"]
    assert mapped["token_endpoint_auth_method"] == "private_key_jwt" and mapped["jwks_uri"] == jwks_uri
    assert mapped["client_authentication_methods"] == {
        "private_key_jwt": {"credentials": [{"credential_type": "public_key", "kid": "k1", "alg": "RS256"}]}
    }
    assert r.json()["validation"]["warnings"] == [PRIVATE_KEY_JWT_WARNING]
    [app] = await listed(mgmt, url)
    # Auth0's shape for a private_key_jwt application: no token_endpoint_auth_method (client_authentication_methods)
    assert app["token_endpoint_auth_method"] is None and app["jwks_uri"] == jwks_uri
    assert "client_secret" not in app


@pytest.mark.parametrize(
    ("jwks", "violation"),
    [
        ({"keys": [{**RSA_KEY, "d": "private"}]}, "contains private key material"),
        ({"keys": []}, "must be a JWKS"),
        ({"keys": [RSA_KEY], "padding": "k" * 13000}, "larger than 12288 bytes"),
    ],
)
async def test_jwks_rules_are_400_on_register(
    runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient, jwks: Any, violation: str
) -> None:
    url = serve(server, token_endpoint_auth_method="private_key_jwt", jwks_uri=serve_jwks(server, jwks))
    body = assert_error(await mgmt.post(REGISTER, json={"external_client_id": url}), 400, "invalid_client_metadata")
    assert violation in body["message"], body["message"]
    assert await listed(mgmt, url) == []


async def test_jwks_uri_redirect_is_not_followed(server: DocServer, mgmt: httpx.AsyncClient) -> None:
    server.routes["/agents/jwks.json"] = Served(b"", status=302, headers={"Location": "https://cimd.test/k.json"})
    jwks_uri = server.url("/agents/jwks.json", HOSTNAME)
    url = serve(server, token_endpoint_auth_method="private_key_jwt", jwks_uri=jwks_uri)
    r = await mgmt.post(PREVIEW, json={"external_client_id": url})
    assert r.status_code == 200 and r.json()["validation"]["valid"] is False, r.text
    assert r.json()["validation"]["violations"][0].startswith("jwks_uri could not be retrieved: ")
    assert [req["path"] for req in server.requests] == ["/agents/a.json", "/agents/jwks.json"]


async def test_scopes(client: httpx.AsyncClient, runtime: Runtime, server: DocServer) -> None:
    url = serve(server)
    body = {"external_client_id": url}
    reader = await token_with(client, runtime, "read:clients")
    assert (await client.post(PREVIEW, json=body, headers=reader)).status_code == 200
    assert_error(await client.post(REGISTER, json=body, headers=reader), 403, "insufficient_scope")
    nothing = await token_with(client, runtime, "read:users")
    assert_error(await client.post(PREVIEW, json=body, headers=nothing), 403, "insufficient_scope")
    updater = await token_with(client, runtime, "update:clients")
    assert_error(await client.post(REGISTER, json=body, headers=updater), 403, "insufficient_scope")  # new: create
    creator = await token_with(client, runtime, "create:clients")
    assert (await client.post(REGISTER, json=body, headers=creator)).status_code == 201
    assert_error(await client.post(REGISTER, json=body, headers=creator), 403, "insufficient_scope")  # exists: update
    assert (await client.post(REGISTER, json=body, headers=updater)).status_code == 200
    assert_error(await client.post(REGISTER, json=body), 401, "missing_authorization")


async def test_a_client_id_taken_by_another_kind_of_client_is_409(
    runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient
) -> None:
    url = serve(server)
    now = runtime.clock.now()
    await store_admin_client(runtime, url, "Imported", now)
    runtime.catalog.invalidate()
    assert_error(await mgmt.post(REGISTER, json={"external_client_id": url}), 409, "client_conflict")
    assert_error(await mgmt.post(PREVIEW, json={"external_client_id": url}), 409, "client_conflict")
    assert server.requests == []
    assert await listed(mgmt, url) == []  # the filter finds metadata-document clients only


async def test_tenant_setting_off_refuses_both(runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient) -> None:
    async with runtime.db.transaction() as s:
        tenant = await s.get(Tenant, 1)
        assert tenant is not None
        tenant.settings = {**(tenant.settings or {}), "client_id_metadata_document_supported": False}
    runtime.catalog.invalidate()
    url = serve(server)
    for path in (PREVIEW, REGISTER):
        assert_error(await mgmt.post(path, json={"external_client_id": url}), 403, "operation_not_supported")
    assert server.requests == []


async def test_denied_domain_is_400(runtime: Runtime, server: DocServer, mgmt: httpx.AsyncClient) -> None:
    runtime.settings = runtime.settings.model_copy(update={"cimd_denied_domains": ["cimd.test"]})
    body = assert_error(await mgmt.post(REGISTER, json={"external_client_id": serve(server)}), 400, "invalid_body")
    assert "not allowed on this server" in body["message"]
    assert server.requests == []


@pytest.mark.parametrize(
    "payload", [{}, {"external_client_id": 7}, {"external_client_id": "https://cimd.test/a", "name": "x"}]
)
async def test_malformed_bodies_are_400(mgmt: httpx.AsyncClient, payload: dict[str, Any]) -> None:
    for path in (PREVIEW, REGISTER):
        assert_error(await mgmt.post(path, json=payload), 400, "invalid_body")


async def test_external_client_id_filter_is_bounded(mgmt: httpx.AsyncClient) -> None:
    r = await mgmt.get("/api/v2/clients", params={"external_client_id": "https://cimd.test/" + "a" * 120})
    assert_error(r, 400, "invalid_query_string")
