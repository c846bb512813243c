"""auth0-python 6.x (the Fern-generated Management API client) against a real ``consentry serve``.

The SDK parses every response with its own models and pagers, so this checks Auth0's wire shapes end to
end: token from ``GetToken.client_credentials``, then clients, resource servers, client grants, users,
connections, grants, tenant settings and signing keys through ``auth0.management.Auth0``. On PostgreSQL two
server processes share one database: what one writes, the other serves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
from auth0.authentication import GetToken
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier
from auth0.management import Auth0
from auth0.management.errors import ConflictError, ForbiddenError, NotFoundError

from tests.support.live_server import LiveProcess, fresh_postgres_database, live_server

pytestmark = pytest.mark.interop

API = "https://notes.example.com/api"


def token_for(base: str, client_id: str, client_secret: str, issuer: str | None = None) -> str:
    """A Management API token from auth0-python's GetToken (sent to ``base``, for the tenant of ``issuer``),
    its signature checked against the JWKS ``base`` publishes."""
    issuer = issuer or base
    got = GetToken(urlsplit(base).netloc, client_id, client_secret=client_secret, protocol="http").client_credentials(
        f"{issuer}api/v2/"
    )
    assert got["token_type"] == "Bearer" and isinstance(got["expires_in"], int)
    token: str = got["access_token"]
    claims = AsymmetricSignatureVerifier(f"{base}.well-known/jwks.json").verify_signature(token)
    assert claims["iss"] == issuer and claims["aud"] == f"{issuer}api/v2/" and claims["gty"] == "client-credentials"
    key = jwt.PyJWKClient(f"{base}.well-known/jwks.json").get_signing_key_from_jwt(token)
    jwt.decode(token, key.key, algorithms=["RS256"], audience=f"{issuer}api/v2/", issuer=issuer)
    return token


def management(base: str, process: LiveProcess) -> Auth0:
    creds = process.cli("admin", "create-client", "--name", "ops")
    token = token_for(base, creds["client_id"], creds["client_secret"], process.issuer)
    return Auth0(base_url=f"{base}api/v2", token=token)


def exercise(api: Auth0, issuer: str) -> dict[str, Any]:
    """Create, list, update and delete every resource through the SDK; returns what is left for later checks."""
    # clients
    spa = api.clients.create(
        name="Partner SPA", app_type="spa", is_first_party=False, callbacks=["https://partner.example.com/cb"]
    )
    assert spa.client_id and spa.client_id.startswith("tpc_") and spa.third_party_security_mode == "strict"
    m2m = api.clients.create(name="Worker", app_type="non_interactive", grant_types=["client_credentials"])
    assert m2m.client_secret
    assert api.clients.update(spa.client_id, name="Partner SPA 2").name == "Partner SPA 2"
    assert {c.client_id for c in api.clients.list(per_page=1)} >= {spa.client_id, m2m.client_id}
    assert api.clients.get(spa.client_id).name == "Partner SPA 2"

    # resource servers
    rs = api.resource_servers.create(
        identifier=API,
        name="Notes",
        allow_offline_access=True,
        scopes=[
            {"value": "read:notes", "description": "Read your notes"},
            {"value": "write:notes", "description": "Write notes"},
        ],
    )
    assert rs.id and rs.identifier == API and [s.value for s in rs.scopes or []] == ["read:notes", "write:notes"]
    assert api.resource_servers.get(API).id == rs.id  # by URL-encoded identifier
    updated = api.resource_servers.update(rs.id, name="Notes API", token_lifetime=3600)
    assert updated.name == "Notes API" and updated.token_lifetime == 3600
    listed = list(api.resource_servers.list(per_page=1))
    assert [r.identifier for r in listed] == [f"{issuer}api/v2/", API] and listed[0].is_system
    with pytest.raises(ConflictError):
        api.resource_servers.create(identifier=API)

    # client grants (checkpoint paging)
    user_grant = api.client_grants.create(
        client_id=spa.client_id, audience=API, scope=["read:notes"], subject_type="user"
    )
    m2m_grant = api.client_grants.create(client_id=m2m.client_id, audience=API, scope=["read:notes", "write:notes"])
    default = api.client_grants.create(
        default_for="third_party_clients", audience=API, scope=["read:notes"], subject_type="user"
    )
    assert m2m_grant.subject_type == "client" and default.default_for == "third_party_clients"
    all_grants = list(api.client_grants.list(take=1))
    assert {g.id for g in all_grants} >= {user_grant.id, m2m_grant.id, default.id}
    assert [g.id for g in api.client_grants.list(audience=API, client_id=spa.client_id)] == [user_grant.id]
    assert api.client_grants.update(user_grant.id, scope=["read:notes", "write:notes"]).scope == [
        "read:notes",
        "write:notes",
    ]
    with pytest.raises(ConflictError):
        api.client_grants.create(client_id=m2m.client_id, audience=API, scope=[])
    api.client_grants.delete(default.id)
    with pytest.raises(NotFoundError):
        api.client_grants.get(default.id)

    # the M2M app can now get a token for the API (client grant from the SDK is live at once)
    worker_token = GetToken(
        urlsplit(issuer).netloc, m2m.client_id, client_secret=m2m.client_secret, protocol="http"
    ).client_credentials(API)
    assert worker_token["scope"] == "read:notes write:notes"

    # users
    user = api.users.create(
        connection="Username-Password-Authentication",
        email="ann@example.com",
        password="correct horse battery",
        user_metadata={"theme": "dark"},
    )
    assert user.user_id and user.user_id.startswith("auth0|") and user.identities
    assert [u.email for u in api.users.list(q='email:"ann@example.com"')] == ["ann@example.com"]
    assert [u.user_id for u in api.users.list_users_by_email(email="ann@example.com")] == [user.user_id]
    changed = api.users.update(user.user_id, blocked=True, user_metadata={"lang": "fr"})
    assert changed.blocked is True and changed.user_metadata == {"theme": "dark", "lang": "fr"}
    assert api.users.get(user.user_id).email == "ann@example.com"
    extra = api.users.create(
        connection="Username-Password-Authentication", email="bob@example.com", password="correct horse battery"
    )
    api.users.delete(extra.user_id)
    with pytest.raises(NotFoundError):
        api.users.get(extra.user_id)

    # connections (checkpoint paging) and their enabled clients
    conn = api.connections.create(name="partners", strategy="auth0", enabled_clients=[spa.client_id])
    assert conn.id and conn.realms == ["partners"]
    conn = api.connections.update(conn.id, is_domain_connection=True, options={"disable_signup": True})
    assert conn.is_domain_connection is True
    assert [c.name for c in api.connections.list(take=1)] == ["Username-Password-Authentication", "partners"]
    enabled = api.connections.clients.get(conn.id)
    assert [c.client_id for c in enabled] == [spa.client_id]
    api.connections.clients.update(conn.id, request=[{"client_id": spa.client_id, "status": False}])
    assert list(api.connections.clients.get(conn.id)) == []
    api.connections.delete(conn.id)
    with pytest.raises(NotFoundError):
        api.connections.get(conn.id)

    # user grants, tenant settings, signing keys
    assert list(api.user_grants.list(user_id=user.user_id)) == []
    api.user_grants.delete_by_user_id(user_id=user.user_id)
    settings = api.tenants.settings.update(flags={"use_scope_descriptions_for_consent": True})
    assert settings.flags is not None and api.tenants.settings.get().flags is not None
    keys = api.keys.signing.list()
    assert sum(1 for k in keys if k.current) == 1

    # a deleted client is gone for good
    api.clients.delete(m2m.client_id)
    with pytest.raises(NotFoundError):
        api.clients.get(m2m.client_id)
    return {"spa": spa.client_id, "rs": rs.id, "user": user.user_id}


def test_auth0_python_against_sqlite(tmp_path: Path) -> None:
    with live_server(tmp_path) as (base, process):
        api = management(base, process)
        left = exercise(api, base)
        api.resource_servers.delete(left["rs"])
        assert [g.audience for g in api.client_grants.list()] == [f"{base}api/v2/"]  # its grants went with it
        limited = process.cli("admin", "create-client", "--name", "reader", "--scope", "read:clients")
        reader = Auth0(base_url=f"{base}api/v2", token=token_for(base, limited["client_id"], limited["client_secret"]))
        assert any(c.client_id == left["spa"] for c in reader.clients.list())
        with pytest.raises(ForbiddenError):
            reader.users.get(left["user"])


@pytest.fixture
async def shared_postgres(postgres_url: str) -> str:
    """A fresh database on the test PostgreSQL server, for the live servers alone."""
    return await fresh_postgres_database(postgres_url)


def test_auth0_python_against_two_servers_on_postgresql(tmp_path: Path, shared_postgres: str) -> None:
    """Two processes of one tenant (same issuer, same database), as behind a load balancer."""
    with live_server(tmp_path, database_url=shared_postgres) as (base_a, process_a):
        issuer = process_a.issuer
        shared = {"CONSENTRY_ISSUER": issuer}
        with live_server(tmp_path, env_overrides=shared, database_url=shared_postgres) as (base_b, process_b):
            assert base_b != base_a and process_b.issuer == issuer
            api_a = management(base_a, process_a)
            left = exercise(api_a, issuer)
            # a client created through server A is usable through server B
            worker = api_a.clients.create(
                name="Worker B", app_type="non_interactive", grant_types=["client_credentials"]
            )
            api_a.client_grants.create(client_id=worker.client_id, audience=API, scope=["read:notes"])
            token = GetToken(
                urlsplit(base_b).netloc, worker.client_id, client_secret=worker.client_secret, protocol="http"
            ).client_credentials(API)
            assert token["scope"] == "read:notes"
            creds = process_a.cli("admin", "create-client", "--name", "ops-b")
            api_b = Auth0(
                base_url=f"{base_b}api/v2", token=token_for(base_b, creds["client_id"], creds["client_secret"], issuer)
            )
            assert api_b.clients.get(left["spa"]).name == "Partner SPA 2"
            assert api_b.users.get(left["user"]).blocked is True
            # a key rotated through B signs B's tokens, and A accepts them (it reloads keys on an unknown kid)
            rotated = api_b.keys.signing.rotate()
            fresh = token_for(base_b, creds["client_id"], creds["client_secret"], issuer)
            assert jwt.get_unverified_header(fresh)["kid"] == rotated.kid
            assert Auth0(base_url=f"{base_a}api/v2", token=fresh).resource_servers.get(left["rs"]).identifier == API
