"""resolve_cimd_client: fetch over real TLS, validate, store one strict third-party public client, reuse it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import select

from consentry.clock import FrozenClock
from consentry.oauth.cimd import fetch as cimd_fetch
from consentry.oauth.cimd import resolve_cimd_client
from consentry.oauth.errors import OAuthError
from consentry.runtime import Runtime
from consentry.storage.models import AuditEvent, Client, Tenant
from tests.integration.cimd.conftest import HOSTNAME, DocServer, Served, store_admin_client


def configure(runtime: Runtime, **values: Any) -> None:
    runtime.settings = runtime.settings.model_copy(update=values)


async def stored(runtime: Runtime, url: str) -> Client | None:
    async with runtime.db.read() as s:
        return await s.get(Client, url)


async def refused(runtime: Runtime, url: str, message: str) -> OAuthError:
    """The error for ``url``: invalid_client, never redirected, with ``message`` in it, and nothing stored."""
    with pytest.raises(OAuthError) as info:
        await resolve_cimd_client(runtime, url)
    exc = info.value
    assert (exc.error, exc.status, exc.redirectable) == ("invalid_client", 400, False)
    assert message in exc.description, exc.description
    assert await stored(runtime, url) is None
    return exc


def resolver(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> list[str]:
    asked: list[str] = []

    async def fake(host: str, port: int) -> list[str]:
        asked.append(host)
        if host not in table:
            raise OSError("no such host")
        return table[host]

    monkeypatch.setattr(cimd_fetch, "resolve_host", fake)
    return asked


async def test_valid_document_becomes_a_strict_third_party_client(runtime: Runtime, server: DocServer) -> None:
    url = server.serve_doc(
        "/agents/claude.json",
        logo_uri="https://cdn.example/logo.png",
        redirect_uris=["http://127.0.0.1:9299/cb", "com.example.agent:/cb"],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
        client_uri="https://agent.example/",
    )
    info = await resolve_cimd_client(runtime, url)
    assert info.client_id == url and info.name == "Agent"
    assert info.is_third_party and info.third_party_security_mode == "strict"
    assert info.redirection_policy == "open_redirect_protection"
    assert info.token_endpoint_auth_method == "none" and info.is_public and info.secret_hash is None
    assert info.app_type == "native" and info.registration_type == "cimd" and info.status == "active"
    assert info.grant_types == ("authorization_code", "refresh_token")
    assert info.callbacks == ("http://127.0.0.1:9299/cb", "com.example.agent:/cb")
    assert info.logo_uri == "https://cdn.example/logo.png"
    assert info.metadata_url_host == "127.0.0.1"
    assert server.requests == [
        {"path": "/agents/claude.json", "host": f"127.0.0.1:{server.port}", "accept_encoding": "identity"}
    ]
    assert await runtime.catalog.client(url) == info
    async with runtime.db.read() as s:
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.client_id == url))).all()
    assert [e.type for e in events] == ["client.created"]


async def test_name_defaults_to_the_host(runtime: Runtime, server: DocServer) -> None:
    url = server.serve_doc("/anon.json", client_name=None)
    assert (await resolve_cimd_client(runtime, url)).name == "127.0.0.1"


async def test_cache_hit_makes_no_request(runtime: Runtime, server: DocServer) -> None:
    url = server.serve_doc("/cached.json", cache_control="public, max-age=600")
    first = await resolve_cimd_client(runtime, url)
    second = await resolve_cimd_client(runtime, url)
    assert first == second and len(server.requests) == 1


async def test_cache_lifetime_follows_cache_control_within_bounds(runtime: Runtime, server: DocServer) -> None:
    clock = FrozenClock()
    runtime.clock = clock
    url = server.serve_doc("/ttl.json", cache_control="max-age=120")
    await resolve_cimd_client(runtime, url)
    clock.advance(100)
    await resolve_cimd_client(runtime, url)
    assert len(server.requests) == 1
    server.serve_doc("/ttl.json", cache_control="max-age=120", client_name="Agent v2")
    clock.advance(30)
    assert (await resolve_cimd_client(runtime, url)).name == "Agent v2"  # expired: fetched again, row updated
    assert len(server.requests) == 2
    async with runtime.db.read() as s:
        assert (
            await s.scalar(
                select(AuditEvent.type).where(AuditEvent.client_id == url).order_by(AuditEvent.date.desc()).limit(1)
            )
        ) == "client.updated"
    for header, expected in (("max-age=99999999", 3600), ("no-store", 60), ("max-age=5", 60), (None, 300)):
        path = f"/ttl-{expected}-{bool(header)}.json"
        url = server.serve_doc(path, cache_control=header)
        await resolve_cimd_client(runtime, url)
        row = await stored(runtime, url)
        assert row is not None
        assert row.attributes["cimd"]["expires_at"] - row.attributes["cimd"]["fetched_at"] == expected, header


async def test_concurrent_resolves_fetch_once(runtime: Runtime, server: DocServer) -> None:
    url = server.serve_doc("/busy.json")
    server.routes["/busy.json"].delay = 0.2
    results = await asyncio.gather(*(resolve_cimd_client(runtime, url) for _ in range(5)))
    assert len({r.client_id for r in results}) == 1 and len(server.requests) == 1


async def test_hostname_is_pinned_to_the_resolved_address_and_tls_checks_the_name(
    runtime: Runtime, server: DocServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = resolver(monkeypatch, {HOSTNAME: ["127.0.0.1"]})
    url = server.serve_doc("/named.json", host=HOSTNAME)
    info = await resolve_cimd_client(runtime, url)
    assert info.metadata_url_host == HOSTNAME and asked == [HOSTNAME]
    assert server.requests[0]["host"] == f"{HOSTNAME}:{server.port}"
    assert server.sni == [HOSTNAME]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1/client.json", "https:// URL"),
        ("https://127.0.0.1", "must have a path"),
        ("https://127.0.0.1/", "must have a path"),
        ("https://127.0.0.1/a/../b.json", "'.' or '..'"),
        ("https://127.0.0.1/./b.json", "'.' or '..'"),
        ("https://user:pw@127.0.0.1/c.json", "user information"),
        ("https://127.0.0.1/c.json#frag", "fragment"),
        ("https://127.0.0.1/c json", "spaces"),
        ("https://127.0.0.1:99999/c.json", "not a valid URL"),
        ("https://127.0.0.1/" + "a" * 240, "at most 255 characters"),
        ("https://exämple.com/c.json", "must be ASCII"),
    ],
)
async def test_client_id_url_shape(runtime: Runtime, server: DocServer, url: str, message: str) -> None:
    await refused(runtime, url, message)
    assert server.requests == []


async def test_loopback_is_refused_unless_allowed(runtime: Runtime, server: DocServer) -> None:
    configure(runtime, cimd_allow_private_addresses=False)
    url = server.serve_doc("/loopback.json")
    await refused(runtime, url, "resolves to a non-public address")
    assert server.requests == []


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.1.2.3"],
        ["93.184.215.14", "127.0.0.1"],
        ["169.254.169.254"],
        ["::1"],
        ["::ffff:192.168.0.1"],
        ["fd00::1"],
        ["100.64.0.1"],
        ["224.0.0.1"],
        ["0.0.0.0"],
        ["240.0.0.1"],
    ],
)
async def test_hostname_resolving_to_a_private_address_is_refused(
    runtime: Runtime, server: DocServer, monkeypatch: pytest.MonkeyPatch, addresses: list[str]
) -> None:
    configure(runtime, cimd_allow_private_addresses=False)
    resolver(monkeypatch, {"agent.example.com": addresses})
    await refused(runtime, "https://agent.example.com/client.json", "resolves to a non-public address")
    assert server.requests == []


async def test_unresolvable_host(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    resolver(monkeypatch, {})
    await refused(runtime, "https://nowhere.example/client.json", "could not be resolved")


async def test_invalid_host_name_is_refused_not_crashed(runtime: Runtime) -> None:
    await refused(runtime, f"https://{'a' * 64}.example/client.json", "could not be resolved")  # an IDNA error


def test_address_problem_table() -> None:
    assert cimd_fetch.address_problem("93.184.215.14") is None
    assert cimd_fetch.address_problem("2606:2800:21f:cb07:6820:80da:af6b:8b2c") is None
    refused_addresses = [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.1.1",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
        "ff02::1",
        "0.0.0.0",
        "::",
        "255.255.255.255",
        "nope",
    ]
    for address in refused_addresses:
        assert cimd_fetch.address_problem(address), address


async def test_oversize_document(runtime: Runtime, server: DocServer) -> None:
    await refused(runtime, server.serve_doc("/big.json", padding="y" * 6000), "larger than 5120 bytes")
    url = server.serve_doc("/big-stream.json", padding="y" * 60000)
    server.routes["/big-stream.json"].content_length = False  # no Content-Length: cut off while streaming
    await refused(runtime, url, "larger than 5120 bytes")


async def test_slow_document_times_out(runtime: Runtime, server: DocServer) -> None:
    url = server.serve_doc("/slow.json")
    server.routes["/slow.json"].delay = 2.5
    started = time.monotonic()
    await refused(runtime, url, "timed out")
    assert time.monotonic() - started < 2.0
    url = server.serve_doc("/drip.json")
    server.routes["/drip.json"].drip = 0.05  # each byte arrives in time, the whole body does not
    started = time.monotonic()
    await refused(runtime, url, "timed out")
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"client_id": "https://127.0.0.1/other.json"}, "client_id does not equal its URL"),
        ({"client_secret": "s3cret"}, "must not contain client_secret"),
        ({"client_secret_expires_at": 0}, "must not contain client_secret"),
        ({"token_endpoint_auth_method": "client_secret_post"}, "token_endpoint_auth_method none"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "token_endpoint_auth_method none"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "scheme 'javascript' is not allowed"),
        ({"redirect_uris": ["http://agent.example/cb"]}, "must use https"),
        ({"redirect_uris": ["https://agent.example/cb#x"]}, "fragment"),
        ({"redirect_uris": ["https://*.example/cb"]}, "wildcards"),
        ({"redirect_uris": ["myapp:/cb"]}, "reverse-DNS"),
        ({"redirect_uris": []}, "needs redirect_uris"),
        ({"redirect_uris": None}, "needs redirect_uris"),
        ({"redirect_uris": "https://agent.example/cb"}, "needs redirect_uris"),
        ({"redirect_uris": [42]}, "must be a string"),
        ({"grant_types": ["client_credentials"]}, "only the authorization_code and refresh_token"),
        ({"grant_types": ["implicit", "authorization_code"]}, "only the authorization_code and refresh_token"),
        ({"response_types": ["token"]}, "response_types"),
        ({"client_name": "<script>"}, "client_name"),
        ({"client_name": 7}, "client_name must be a string"),
        ({"logo_uri": "http://cdn.example/logo.png"}, "logo_uri must be an https URL"),
        ({"logo_uri": "javascript:alert(1)"}, "logo_uri must be an https URL"),
    ],
)
async def test_invalid_documents(runtime: Runtime, server: DocServer, members: dict[str, Any], message: str) -> None:
    url = server.serve_doc("/bad.json", **members)
    await refused(runtime, url, message)


@pytest.mark.parametrize(
    ("served", "message"),
    [
        (Served(b"not json"), "not valid JSON"),
        (Served(b"[1, 2]"), "must be a JSON object"),
        (Served(b'{"a": 1}', headers={"Content-Type": "text/html"}), "application/json"),
        (Served(b"", status=302, headers={"Location": "https://127.0.0.1/x.json"}), "redirects"),
        (Served(b"{}", status=404), "answered HTTP 404"),
        (Served(b"{}", status=500), "answered HTTP 500"),
        (Served(b"{}", headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}), "compressed"),
    ],
)
async def test_bad_responses(runtime: Runtime, server: DocServer, served: Served, message: str) -> None:
    server.routes["/resp.json"] = served
    await refused(runtime, server.url("/resp.json"), message)


async def test_untrusted_certificate(runtime: Runtime, server: DocServer) -> None:
    configure(runtime, cimd_ca_file=None)
    exc = await refused(runtime, server.serve_doc("/tls.json"), "could not be fetched")
    assert "CERTIFICATE_VERIFY_FAILED" in exc.debug


async def test_certificate_for_another_name(
    runtime: Runtime, server: DocServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolver(monkeypatch, {"other.test": ["127.0.0.1"]})
    await refused(runtime, server.serve_doc("/name.json", host="other.test"), "could not be fetched")


async def test_domain_lists(runtime: Runtime, server: DocServer, monkeypatch: pytest.MonkeyPatch) -> None:
    resolver(monkeypatch, {HOSTNAME: ["127.0.0.1"], "a.cimd.test": ["127.0.0.1"]})
    configure(runtime, cimd_denied_domains=["CIMD.test"])
    for host in (HOSTNAME, "a.cimd.test"):
        await refused(runtime, server.serve_doc("/d.json", host=host), "are not allowed on this server")
    configure(runtime, cimd_denied_domains=[], cimd_allowed_domains=["agents.example"])
    await refused(runtime, server.serve_doc("/d.json", host=HOSTNAME), "are not allowed on this server")
    configure(runtime, cimd_allowed_domains=["test"])  # suffix on a label boundary
    assert (await resolve_cimd_client(runtime, server.serve_doc("/d.json", host=HOSTNAME))).name == "Agent"
    configure(runtime, cimd_allowed_domains=["imd.test"])
    await refused(runtime, server.serve_doc("/e.json", host="a.cimd.test"), "are not allowed on this server")
    assert server.requests and all(r["path"] == "/d.json" for r in server.requests)


async def test_denied_domain_applies_to_cached_clients(runtime: Runtime, server: DocServer) -> None:
    url = server.serve_doc("/later-denied.json", cache_control="max-age=3600")
    await resolve_cimd_client(runtime, url)
    configure(runtime, cimd_denied_domains=["127.0.0.1"])
    with pytest.raises(OAuthError, match="not allowed"):
        await resolve_cimd_client(runtime, url)


async def test_disabled_by_tenant_setting(runtime: Runtime, server: DocServer) -> None:
    async with runtime.db.transaction() as s:
        tenant = await s.get(Tenant, 1)
        assert tenant is not None
        tenant.settings = {**(tenant.settings or {}), "client_id_metadata_document_supported": False}
    runtime.catalog.invalidate()
    await refused(runtime, server.serve_doc("/off.json"), "not enabled")
    assert server.requests == []


async def test_failures_are_remembered_briefly(runtime: Runtime, server: DocServer) -> None:
    clock = FrozenClock()
    runtime.clock = clock
    url = server.serve_doc("/flaky.json", client_secret="oops")
    await refused(runtime, url, "client_secret")
    server.serve_doc("/flaky.json")
    await refused(runtime, url, "client_secret")  # remembered: no second fetch
    assert len(server.requests) == 1
    clock.advance(11)
    assert (await resolve_cimd_client(runtime, url)).client_id == url


async def test_a_client_id_registered_otherwise_is_not_taken_over(runtime: Runtime, server: DocServer) -> None:
    url = server.serve_doc("/taken.json")
    now = time.time()
    await store_admin_client(runtime, url, "admin app", now)
    with pytest.raises(OAuthError, match="registered by other means"):
        await resolve_cimd_client(runtime, url)
    assert server.requests == []


async def test_cimd_clients_are_strict_whatever_the_dcr_security_mode(runtime: Runtime, server: DocServer) -> None:
    async with runtime.db.transaction() as s:
        row = await s.get(Tenant, 1)
        assert row is not None
        row.settings = {**(row.settings or {}), "dynamic_client_registration_security_mode": "permissive"}
    runtime.catalog.invalidate()
    url = server.serve_doc(
        "/agents/strict.json", redirect_uris=["http://127.0.0.1:9299/cb"], token_endpoint_auth_method="none"
    )
    info = await resolve_cimd_client(runtime, url)
    assert info.third_party_security_mode == "strict" and info.is_third_party
