"""The Auth0 Deploy CLI (``auth0-deploy-cli`` from npm) moving a tenant from one Consentry to a fresh one.

Both servers serve https (the CLI's SDK builds ``https://DOMAIN/…``); node trusts both development CAs through
``NODE_EXTRA_CA_CERTS``. The first server holds an API with scopes and RBAC, a third-party and a first-party app,
client grants (one of them ``default_for: third_party_clients``), a domain-level database connection, a role with
permissions and tenant flags. ``a0deploy export`` writes it (directory and YAML formats), ``a0deploy import`` puts
it into the second server, and the second then shows the same consent screen for the same request.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from tests.interop.harness import PASSWORD, LiveServer, unique
from tests.interop.node_client import NODE_DIR, node_modules
from tests.support.flow import hidden

pytestmark = pytest.mark.interop

API = "https://photos.example.com/api"
CALLBACK = "https://gallery.example.com/callback"
INCLUDED = ["clients", "resourceServers", "clientGrants", "connections", "databases", "roles", "tenant"]


@dataclass
class Tenant:
    server: LiveServer
    api: httpx.Client  # the Management API, as the deploy client
    creds: dict[str, str]  # the deploy client (``consentry admin create-client``)


@pytest.fixture(scope="module")
def tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tenant, Tenant, Path]]:
    """The seeded source and the fresh target, each with its deploy client, and one CA bundle trusting both."""
    source = LiveServer(tmp_path_factory.mktemp("deploy-source"), tls=True).start()
    target = LiveServer(tmp_path_factory.mktemp("deploy-target"), tls=True).start()
    try:
        assert source.process and target.process and source.process.ca_file and target.process.ca_file
        bundle = tmp_path_factory.mktemp("deploy-ca") / "cas.pem"
        bundle.write_bytes(source.process.ca_file.read_bytes() + target.process.ca_file.read_bytes())
        src, dst = Tenant(source, *_management(source, bundle)), Tenant(target, *_management(target, bundle))
        _seed(src.api)
        yield src, dst, bundle
    finally:
        target.stop()
        source.stop()


def _trust(bundle: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(bundle))


def _management(server: LiveServer, bundle: Path) -> tuple[httpx.Client, dict[str, str]]:
    creds = server.cli("admin", "create-client", "--name", unique("deploy"))
    token = httpx.post(
        server.url("oauth/token"),
        verify=_trust(bundle),
        data={"grant_type": "client_credentials", "audience": server.url("api/v2/"), **creds},
    ).json()["access_token"]
    client = httpx.Client(
        base_url=server.url("api/v2/"), verify=_trust(bundle), headers={"Authorization": f"Bearer {token}"}, timeout=15
    )
    return client, creds


def _ok(r: httpx.Response) -> Any:
    assert r.status_code < 300, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if r.content else None


def _seed(api: httpx.Client) -> None:
    """The tenant to move: what a team has in Auth0 for a photo API with a partner ecosystem."""
    scopes = [
        {"value": "read:photos", "description": "See your photos"},
        {"value": "upload:photos", "description": "Upload photos for you"},
        {"value": "delete:photos", "description": "Delete your photos"},
    ]
    _ok(
        api.post(
            "resource-servers",
            json={
                "identifier": API,
                "name": "Photos API",
                "scopes": scopes,
                "allow_offline_access": True,
                "enforce_policies": True,
                "token_dialect": "access_token_authz",
                "subject_type_authorization": {"user": {"policy": "require_client_grant"}},
            },
        )
    )
    partner = _ok(
        api.post(
            "clients",
            json={"name": "Gallery Partner", "app_type": "spa", "is_first_party": False, "callbacks": [CALLBACK]},
        )
    )
    ours = _ok(
        api.post(
            "clients",
            json={"name": "Photos Web", "app_type": "regular_web", "callbacks": ["https://photos.example.com/cb"]},
        )
    )
    _ok(
        api.post(
            "client-grants",
            json={
                "default_for": "third_party_clients",
                "audience": API,
                "scope": ["read:photos"],
                "subject_type": "user",
            },
        )
    )
    _ok(
        api.post(
            "client-grants",
            json={
                "client_id": partner["client_id"],
                "audience": API,
                "scope": ["read:photos", "upload:photos"],
                "subject_type": "user",
            },
        )
    )
    _ok(
        api.post(
            "client-grants",
            json={"client_id": ours["client_id"], "audience": API, "scope": ["read:photos"], "subject_type": "user"},
        )
    )
    db = next(c for c in _ok(api.get("connections")) if c["name"] == "Username-Password-Authentication")
    _ok(api.patch(f"connections/{db['id']}", json={"is_domain_connection": True}))
    role = _ok(api.post("roles", json={"name": "Photographers", "description": "Upload and see photos"}))
    perms = [{"resource_server_identifier": API, "permission_name": p} for p in ("read:photos", "upload:photos")]
    assert api.post(f"roles/{role['id']}/permissions", json={"permissions": perms}).status_code == 201
    _ok(
        api.patch(
            "tenants/settings", json={"friendly_name": "Photos", "flags": {"use_scope_descriptions_for_consent": True}}
        )
    )


def _a0deploy(command: str, tenant: Tenant, bundle: Path, workdir: Path, **options: str) -> str:
    config = {
        "AUTH0_DOMAIN": urlsplit(tenant.server.issuer).netloc,
        "AUTH0_CLIENT_ID": tenant.creds["client_id"],
        "AUTH0_CLIENT_SECRET": tenant.creds["client_secret"],
        "AUTH0_INCLUDED_ONLY": INCLUDED,
        "AUTH0_ALLOW_DELETE": False,
    }
    config_file = workdir / f"config-{command}.json"
    config_file.write_text(json.dumps(config))
    args = ["node", str(NODE_DIR / "node_modules" / "auth0-deploy-cli" / "lib" / "index.js"), command]
    args += ["-c", str(config_file)] + [a for k, v in options.items() for a in (f"--{k}", v)]
    done = subprocess.run(
        args,
        cwd=NODE_DIR,
        env={**os.environ, "NODE_EXTRA_CA_CERTS": str(bundle)},
        capture_output=True,
        timeout=240,
        check=False,
    )
    out = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0, f"a0deploy {command} failed:\n{out[-4000:]}"
    return out


def _drop_undefined_client_ids(out: Path) -> None:
    """The Deploy CLI (8.44.0) exports a ``default_for`` grant with ``client_id: undefined_clientId`` and then refuses
    to import it ("client_id and default_for are mutually exclusive"): drop that line, as docs/migrating-from-auth0.md
    tells users to."""
    if out.is_dir():
        for file in out.glob("grants/*.json"):
            grant = json.loads(file.read_text())
            if grant.get("client_id") == "undefined_clientId" and grant.get("default_for"):
                del grant["client_id"]
                file.write_text(json.dumps(grant, indent=2))
    else:
        text = re.sub(r"- client_id: undefined_clientId\n\s*", "- ", out.read_text())  # the grant's first key
        out.write_text(re.sub(r"\n\s*client_id: undefined_clientId(?=\n)", "", text))


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in items}


def _consent_text(server: LiveServer, bundle: Path, client_id: str, email: str) -> str:
    """The consent screen's visible text for the partner app's request, after signing in as ``email``."""
    with httpx.Client(verify=_trust(bundle), timeout=15) as browser:
        params = {
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "read:photos upload:photos delete:photos",
            "audience": API,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "state": "st",
        }
        r = browser.get(server.url("authorize") + "?" + urlencode(params))
        while r.status_code in (302, 303) and r.headers["location"].startswith(server.issuer):
            r = browser.get(r.headers["location"])
        form = {"state": hidden(r.text, "state"), "csrf": hidden(r.text, "csrf"), "username": email}
        r = browser.post(server.url("u/login"), data={**form, "password": PASSWORD})
        while r.status_code in (302, 303) and r.headers["location"].startswith(server.issuer):
            r = browser.get(r.headers["location"])
        assert r.status_code == 200 and 'value="accept"' in r.text, r.text[:500]
    main = r.text.split("<main", 1)[1].split("</main>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


@pytest.mark.parametrize("fmt", ["directory", "yaml"])
def test_export_from_one_consentry_and_import_into_a_fresh_one(
    tenants: tuple[Tenant, Tenant, Path], tmp_path: Path, fmt: str
) -> None:
    """Directory first, then YAML into the same target: the second import finds everything and changes nothing."""
    node_modules()
    src, dst, bundle = tenants
    source, target, src_api, dst_api = src.server, dst.server, src.api, dst.api
    if fmt == "directory":
        out = tmp_path / "tenant"
        _a0deploy("export", src, bundle, tmp_path, format="directory", output_folder=str(out))
    else:
        _a0deploy("export", src, bundle, tmp_path, format="yaml", output_folder=str(tmp_path))
        out = tmp_path / "tenant.yaml"
    assert out.exists()
    _drop_undefined_client_ids(out)
    _a0deploy("import", dst, bundle, tmp_path, input_file=str(out))

    src_clients, dst_clients = _by_name(_ok(src_api.get("clients"))), _by_name(_ok(dst_api.get("clients")))
    names = [c["name"] for c in _ok(dst_api.get("clients"))] + [r["name"] for r in _ok(dst_api.get("roles"))]
    assert names.count("Gallery Partner") == names.count("Photographers") == 1, "a second import updates in place"
    for name in ("Gallery Partner", "Photos Web"):
        for field in ("app_type", "is_first_party", "callbacks", "grant_types", "token_endpoint_auth_method"):
            assert dst_clients[name][field] == src_clients[name][field], (name, field)
    dst_apis = {a["identifier"]: a for a in _ok(dst_api.get("resource-servers"))}
    assert dst_apis[API]["enforce_policies"] is True and dst_apis[API]["token_dialect"] == "access_token_authz"
    assert [s["value"] for s in dst_apis[API]["scopes"]] == ["read:photos", "upload:photos", "delete:photos"]
    grants = _ok(dst_api.get("client-grants", params={"audience": API}))
    default = [g for g in grants if g.get("default_for") == "third_party_clients"]
    assert len(default) == 1 and default[0]["scope"] == ["read:photos"]
    partner_id = dst_clients["Gallery Partner"]["client_id"]
    assert {tuple(g["scope"]) for g in grants if g.get("client_id") == partner_id} == {("read:photos", "upload:photos")}
    roles = _by_name(_ok(dst_api.get("roles")))
    perms = _ok(dst_api.get(f"roles/{roles['Photographers']['id']}/permissions"))
    assert sorted(p["permission_name"] for p in perms) == ["read:photos", "upload:photos"]
    tenant = _ok(dst_api.get("tenants/settings"))
    assert tenant["friendly_name"] == "Photos" and tenant["flags"]["use_scope_descriptions_for_consent"] is True
    db = next(c for c in _ok(dst_api.get("connections")) if c["name"] == "Username-Password-Authentication")
    assert db["is_domain_connection"] is True

    # the same person, with the same role, sees the same consent screen on both servers
    email = f"{unique('mover')}@example.com"
    for server, api in ((source, src_api), (target, dst_api)):
        user = server.cli("users", "create", "--email", email, "--password", PASSWORD)
        role_id = _by_name(_ok(api.get("roles")))["Photographers"]["id"]
        assert api.post(f"roles/{role_id}/users", json={"users": [user["user_id"]]}).status_code == 200
    src_partner = src_clients["Gallery Partner"]["client_id"]
    before = _consent_text(source, bundle, src_partner, email)
    after = _consent_text(target, bundle, partner_id, email)
    assert "See your photos" in before and "Upload photos for you" in before, "the API's descriptions (tenant flag)"
    assert "Delete" not in before, "outside the partner's client grant"
    assert after == before
