"""The Auth0 SDKs that only speak https, against Consentry serving TLS itself (``CONSENTRY_TLS_CERT_FILE``).

The server uses the certificate ``consentry tls dev-cert`` makes (``live_server(tls=True)``); the clients trust
its CA the way the command says, through environment variables only: ``SSL_CERT_FILE`` for auth0-python's httpx,
``NODE_EXTRA_CA_CERTS`` for node. auth0-python's ``ManagementClient(domain=…)`` and the node ``auth0`` SDK's
ManagementClient, AuthenticationClient and UserInfoClient then run unchanged, as against Auth0.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from auth0.management import ManagementClient

from tests.interop.harness import PASSWORD, LiveServer, unique
from tests.interop.node_client import NodeScript
from tests.support.flow import hidden

pytestmark = pytest.mark.interop


def domain(live: LiveServer) -> str:
    return urlsplit(live.issuer).netloc


def test_the_server_speaks_https_only_with_an_https_issuer(https_live: LiveServer, ca_file: Path) -> None:
    meta = httpx.get(https_live.url(".well-known/openid-configuration")).json()  # verified with SSL_CERT_FILE
    assert meta["issuer"] == https_live.issuer and https_live.issuer.startswith("https://127.0.0.1:")
    assert meta["token_endpoint"] == https_live.url("oauth/token")
    with pytest.raises(httpx.HTTPError):
        httpx.get(https_live.url(".well-known/jwks.json").replace("https://", "http://"), timeout=5)
    with pytest.raises(httpx.ConnectError):  # a client that does not trust the dev CA refuses the server
        httpx.get(https_live.url(".well-known/jwks.json"), verify=httpx.create_ssl_context(trust_env=False))


def test_cookies_are_secure_over_https(https_live: LiveServer, ca_file: Path) -> None:
    """The pre-login cookie of the login page and the session cookie of a sign-in are ``Secure``."""
    creds = https_live.cli("admin", "create-client", "--name", unique("cookie-ops"))
    api = ManagementClient(
        domain=domain(https_live), client_id=creds["client_id"], client_secret=creds["client_secret"]
    )
    app = api.clients.create(name=unique("web"), app_type="regular_web", callbacks=["https://app.example.com/cb"])
    email = f"{unique('cookie')}@example.com"
    api.users.create(connection="Username-Password-Authentication", email=email, password=PASSWORD)
    with httpx.Client() as browser:
        r = browser.get(
            https_live.url("authorize"),
            params={
                "client_id": app.client_id,
                "redirect_uri": "https://app.example.com/cb",
                "response_type": "code",
                "scope": "openid",
                "state": "st",
            },
        )
        assert r.status_code in (302, 303) and r.headers["location"].startswith(https_live.url("u/login"))
        page = browser.get(r.headers["location"])
        assert page.status_code == 200
        form = {
            "state": hidden(page.text, "state"),
            "csrf": hidden(page.text, "csrf"),
            "username": email,
            "password": PASSWORD,
        }
        signed_in = browser.post(https_live.url("u/login"), data=form)
        assert signed_in.status_code == 303, signed_in.text[:300]
    cookies = page.headers.get_list("set-cookie") + signed_in.headers.get_list("set-cookie")
    assert len(cookies) >= 2 and all("; secure" in c.lower() for c in cookies), cookies


def test_auth0_python_management_client_with_domain(https_live: LiveServer, ca_file: Path) -> None:
    ops = unique("py-ops")
    creds = https_live.cli("admin", "create-client", "--name", ops)
    # the SDK's own token provider: client_credentials at https://DOMAIN/oauth/token, audience https://DOMAIN/api/v2/
    api = ManagementClient(
        domain=domain(https_live), client_id=creds["client_id"], client_secret=creds["client_secret"]
    )
    partner = api.clients.create(
        name=unique("Partner"), app_type="spa", is_first_party=False, callbacks=["https://partner.example.com/cb"]
    )
    assert partner.client_id and partner.client_id.startswith("tpc_")
    assert partner.client_id in {c.client_id for c in api.clients.list(per_page=100)}
    identifier = f"https://{unique('notes')}.example.com/"
    rs = api.resource_servers.create(
        identifier=identifier, name=unique("Notes"), scopes=[{"value": "read:notes", "description": "Read notes"}]
    )
    assert api.resource_servers.get(rs.id).identifier == identifier
    user = api.users.create(
        connection="Username-Password-Authentication", email=f"{unique('ann')}@example.com", password=PASSWORD
    )
    assert api.users.get(user.user_id).email == user.email
    # the Management API changes are Auth0 "sapi" events naming the caller (details.actor) and its address
    mine = f"{creds['client_id']}@clients"  # details.actor: who made the change
    changes = [e for e in api.logs.list(search="type:sapi", per_page=100) if (e.details or {}).get("actor") == mine]
    assert {e.details["event"] for e in changes} >= {"client.created", "api.created", "user.created"}
    assert {e.ip for e in changes} == {"127.0.0.1"}
    exchanges = [e for e in api.logs.list(search="type:seccft", per_page=100) if e.client_id == creds["client_id"]]
    assert exchanges and exchanges[0].ip == "127.0.0.1" and exchanges[0].client_name == ops


async def test_node_auth0_sdk_management_and_authentication(https_live: LiveServer, ca_file: Path) -> None:
    creds = https_live.cli("admin", "create-client", "--name", unique("node-ops"))
    email = f"{unique('node')}@example.com"
    env = {
        "DOMAIN": domain(https_live),
        "CLIENT_ID": creds["client_id"],
        "CLIENT_SECRET": creds["client_secret"],
        "EMAIL": email,
        "PASSWORD": PASSWORD,
        "NODE_EXTRA_CA_CERTS": str(ca_file),
    }
    async with NodeScript("auth0_sdk_flow.mjs", env) as script:
        out = await script.read(timeout=90)
    assert "result" in out, out
    r = out["result"]
    assert r["listed_app"] and r["found"] == [r["user_id"]] and r["user_id"].startswith("auth0|")
    assert f"{https_live.issuer}api/v2/" in r["apis"]
    assert r["token_type"] == "Bearer" and r["has_id_token"]  # the SDK validated the ID token (iss, aud, RS256)
    assert r["scope"] == "openid profile email offline_access"
    info = r["userinfo"]
    assert info["sub"] == r["user_id"] and info["email"] == email and isinstance(info["updated_at"], int)
    assert r["revoked_status"] in (400, 403)  # the revoked refresh token no longer works
    assert {"sapi", "sepft", "srrt"} <= set(r["log_types"]), r["log_types"]


def test_auth0_python_management_client_manages_rbac(https_live: LiveServer, ca_file: Path) -> None:
    """Roles, role permissions and members, user roles and permissions through ``ManagementClient(domain=…)``:
    the SDK's own models and pagers parse every answer."""
    creds = https_live.cli("admin", "create-client", "--name", unique("py-rbac"))
    api = ManagementClient(
        domain=domain(https_live), client_id=creds["client_id"], client_secret=creds["client_secret"]
    )
    identifier = f"https://{unique('rbac')}.example.com/"
    scopes = [{"value": "read:docs", "description": "Read docs"}, {"value": "edit:docs", "description": "Edit docs"}]
    rs = api.resource_servers.create(identifier=identifier, name=unique("Docs"), scopes=scopes, enforce_policies=True)
    assert rs.enforce_policies is True
    user = api.users.create(
        connection="Username-Password-Authentication", email=f"{unique('rbac')}@example.com", password=PASSWORD
    )
    assert user.user_id
    role = api.roles.create(name=unique("editors"), description="Edit docs")
    assert role.id and role.id.startswith("rol_") and api.roles.get(role.id).name == role.name
    assert role.id in {r.id for r in api.roles.list(name_filter=role.name)}
    edit = [{"resource_server_identifier": identifier, "permission_name": "edit:docs"}]
    read = [{"resource_server_identifier": identifier, "permission_name": "read:docs"}]
    api.roles.permissions.add(role.id, permissions=edit)
    assert [p.permission_name for p in api.roles.permissions.list(role.id)] == ["edit:docs"]
    api.roles.users.assign(role.id, users=[user.user_id])
    assert [u.user_id for u in api.roles.users.list(role.id)] == [user.user_id]
    api.users.permissions.create(user.user_id, permissions=read)
    # the SDK's permission model has no ``sources``: it keeps them as the JSON objects the server sent
    listed = list(api.users.permissions.list(user.user_id))
    held = {p.permission_name: [s["source_type"] for s in getattr(p, "sources", None) or []] for p in listed}
    assert held == {"edit:docs": ["ROLE"], "read:docs": ["DIRECT"]}
    assert [r.id for r in api.users.roles.list(user.user_id)] == [role.id]
    api.users.roles.delete(user.user_id, roles=[role.id])
    api.users.permissions.delete(user.user_id, permissions=read)
    assert list(api.users.permissions.list(user.user_id)) == []
    assert api.roles.update(role.id, description="Edit all docs").description == "Edit all docs"
    api.roles.delete(role.id)
    assert role.id not in {r.id for r in api.roles.list()}


async def test_node_auth0_sdk_manages_rbac_and_tokens_follow(https_live: LiveServer, ca_file: Path) -> None:
    creds = https_live.cli("admin", "create-client", "--name", unique("node-rbac"))
    env = {
        "DOMAIN": domain(https_live),
        "CLIENT_ID": creds["client_id"],
        "CLIENT_SECRET": creds["client_secret"],
        "EMAIL": f"{unique('node-rbac')}@example.com",
        "PASSWORD": PASSWORD,
        "API": f"https://{unique('notes')}.example.com/",
        "NODE_EXTRA_CA_CERTS": str(ca_file),
    }
    async with NodeScript("auth0_rbac_flow.mjs", env) as script:
        out = await script.read(timeout=90)
    assert "result" in out, out
    r = out["result"]
    assert r["role_permissions"] == ["read:notes"] and r["role_users"] == [r["user_id"]]
    assert r["user_roles"] == [r["role_id"]]
    assert sorted(r["user_permissions"]) == [["read:notes", ["ROLE"]], ["write:notes", ["DIRECT"]]]
    assert r["scope"] == "read:notes write:notes", "share:notes is not the user's"
    assert r["permissions"] == ["read:notes", "write:notes"]
    assert r["scope_after"] == "read:notes" and r["roles_after"] == 0
