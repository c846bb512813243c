"""No secret ever reaches the logs: a full run against the real server at log level ``debug``.

The server runs as a subprocess (uvicorn access log on, every ``consentry`` logger at debug) and the test
drives everything that mints or receives a secret over HTTP: client credentials, a code flow with the login
and consent forms, refresh with rotation, userinfo, introspection, revocation, the password grant (with a
wrong password first), secret rotation, Dynamic Client Registration with an initial access token. Every
secret it saw (client secrets, passwords, access/refresh/ID tokens, codes, session cookies, registration
access tokens, initial access tokens, the key-encryption key) is then looked for in the server's output and
in the audit log (``/api/v2/logs``); none may appear, whole or as its first 16 characters.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.live_server import TEST_KEK, live_server

pytestmark = pytest.mark.attack

API = "https://notes.example.com"
CALLBACK = "https://rp.example.com/cb"
PASSWORD = "log-scan password 7f3a"


class Secrets:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def add(self, name: str, value: str | None) -> str:
        assert value, f"{name} was not issued"
        self.values[f"{name} #{len(self.values)}"] = value
        return value

    def take(self, name: str, body: dict[str, Any], *keys: str) -> dict[str, Any]:
        for key in keys:
            if key in body:
                self.add(f"{name}.{key}", body[key])
        return body


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} field"
    return match.group(1)


def _code_flow(http: httpx.Client, found: Secrets, client_id: str, scope: str, challenge: str) -> str:
    r = http.get(
        "/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": scope,
            "audience": API,
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    for _ in range(8):
        location = r.headers.get("location", "")
        if location.startswith(CALLBACK):
            return found.add("authorization code", parse_qs(urlsplit(location).query)["code"][0])
        if r.status_code in (302, 303):
            r = http.get(location)
            continue
        page = r.text
        form = {"state": _field(page, "state"), "csrf": _field(page, "csrf")}
        if 'name="password"' in page:
            r = http.post("/u/login", data={**form, "username": "writer@example.com", "password": PASSWORD})
            found.add("session cookie", r.cookies.get("consentry_session"))
        else:
            r = http.post("/u/consent", data={**form, "action": "accept"})
    raise AssertionError(f"the flow did not reach the callback: {r.status_code} {r.text[:300]}")


def _drive(base_url: str, process: Any, found: Secrets) -> str:
    found.add("key-encryption key", TEST_KEK)
    found.add("user password", PASSWORD)
    ops = found.take("admin create-client", process.cli("admin", "create-client", "--name", "ops"), "client_secret")
    with httpx.Client(base_url=base_url, timeout=30) as http:
        m2m = http.post(
            "/oauth/token", data={"grant_type": "client_credentials", "audience": f"{base_url}api/v2/", **ops}
        ).json()
        mgmt = {"Authorization": f"Bearer {found.take('client_credentials', m2m, 'access_token')['access_token']}"}

        def admin(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
            r = http.request(method, f"/api/v2/{path}", json=body, headers=mgmt)
            assert r.status_code < 300, r.text
            return r.json() if r.content else {}

        admin(
            "POST",
            "resource-servers",
            {
                "identifier": API,
                "name": "Notes",
                "allow_offline_access": True,
                "scopes": [{"value": "read:notes", "description": "Read notes"}],
            },
        )
        admin(
            "POST",
            "users",
            {"email": "writer@example.com", "password": PASSWORD, "connection": "Username-Password-Authentication"},
        )
        connection = admin("GET", "connections")[0]
        admin("PATCH", f"connections/{connection['id']}", {"is_domain_connection": True})
        web = found.take(
            "web client",
            admin(
                "POST",
                "clients",
                {
                    "name": "RP",
                    "app_type": "regular_web",
                    "callbacks": [CALLBACK],
                    "grant_types": ["authorization_code", "refresh_token", "password"],
                },
            ),
            "client_secret",
        )
        spa = admin(
            "POST", "clients", {"name": "Partner", "app_type": "spa", "is_first_party": False, "callbacks": [CALLBACK]}
        )
        admin(
            "POST",
            "client-grants",
            {"default_for": "third_party_clients", "audience": API, "scope": ["read:notes"], "subject_type": "user"},
        )
        admin("PATCH", "tenants/settings", {"flags": {"enable_dynamic_client_registration": True}})

        verifier, challenge = _pkce()
        code = _code_flow(http, found, web["client_id"], "openid profile read:notes offline_access", challenge)
        tokens = found.take(
            "code exchange",
            http.post(
                "/oauth/token",
                auth=(web["client_id"], web["client_secret"]),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": CALLBACK,
                    "code_verifier": verifier,
                },
            ).json(),
            "access_token",
            "refresh_token",
            "id_token",
        )
        refreshed = found.take(
            "refresh",
            http.post(
                "/oauth/token",
                auth=(web["client_id"], web["client_secret"]),
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            ).json(),
            "access_token",
            "refresh_token",
            "id_token",
        )
        assert (
            http.get("/userinfo", headers={"Authorization": f"Bearer {refreshed['access_token']}"}).status_code == 200
        )
        http.post(
            "/oauth/introspect",
            auth=(web["client_id"], web["client_secret"]),
            data={"token": refreshed["access_token"]},
        )
        http.post(
            "/oauth/revoke",
            auth=(web["client_id"], web["client_secret"]),
            data={"token": refreshed.get("refresh_token", tokens["refresh_token"])},
        )

        verifier, challenge = _pkce()
        code = _code_flow(http, found, spa["client_id"], "read:notes offline_access", challenge)
        found.take(
            "third-party exchange",
            http.post(
                "/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": CALLBACK,
                    "code_verifier": verifier,
                    "client_id": spa["client_id"],
                },
            ).json(),
            "access_token",
            "refresh_token",
        )

        wrong = found.add("wrong password", "wrong-" + secrets.token_hex(8))
        assert (
            http.post(
                "/oauth/token",
                data={
                    "grant_type": "password",
                    "username": "writer@example.com",
                    "password": wrong,
                    "client_id": web["client_id"],
                    "client_secret": web["client_secret"],
                },
            ).status_code
            == 403
        )
        found.take(
            "password grant",
            http.post(
                "/oauth/token",
                data={
                    "grant_type": "password",
                    "username": "writer@example.com",
                    "password": PASSWORD,
                    "audience": API,
                    "scope": "read:notes",
                    "client_id": web["client_id"],
                    "client_secret": web["client_secret"],
                },
            ).json(),
            "access_token",
        )
        found.take("rotate-secret", admin("POST", f"clients/{web['client_id']}/rotate-secret"), "client_secret")

        iat = found.take("initial access token", admin("POST", "dcr/initial-access-tokens", {"uses": 2}), "token")
        registered = http.post(
            "/oidc/register",
            headers={"Authorization": f"Bearer {iat.get('token', '')}"},
            json={
                "client_name": "Agent",
                "redirect_uris": [CALLBACK],
                "token_endpoint_auth_method": "client_secret_post",
            },
        )
        assert registered.status_code == 201, registered.text
        reg = found.take("dynamic registration", registered.json(), "client_secret", "registration_access_token")
        config = http.get(
            f"/oidc/register/{reg['client_id']}",
            headers={"Authorization": f"Bearer {reg['registration_access_token']}"},
        )
        assert config.status_code == 200
        logs = http.get("/api/v2/logs", params={"per_page": 100}, headers=mgmt)
        assert logs.status_code == 200 and len(logs.json()) > 5
        return logs.text


def test_no_secret_in_logs(tmp_path: Path) -> None:
    found = Secrets()
    with live_server(tmp_path, {"CONSENTRY_LOG_LEVEL": "debug"}) as (base_url, process):
        audit = _drive(base_url, process, found)
    log = process.log_path.read_text(errors="replace")
    assert "GET /authorize?" in log and "POST /oauth/token" in log, "the access log was captured"
    assert len(found.values) >= 20, sorted(found.values)
    print(f"log scan: {len(found.values)} secrets, {len(log.splitlines())} log lines, {len(audit)} bytes of audit log")
    leaks = [name for name, value in found.values.items() if value in log or value[:16] in log]
    assert not leaks, f"secrets in the server log: {leaks}"
    leaks = [name for name, value in found.values.items() if value in audit or value[:16] in audit]
    assert not leaks, f"secrets in the audit log: {leaks}"
