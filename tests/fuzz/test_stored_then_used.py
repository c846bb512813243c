"""Stored-then-used: hostile settings are written through every surface, then the flows that read them run.

For each writable field of clients, APIs, client grants, connections, users and tenant settings
(``tests/fuzz/stored.py``), each hostile value is written through the Management API (and, where they accept
the field, DCR / RFC 7592, a Client ID Metadata Document and the dashboard forms), and also straight into the
row (``legacy``: a value stored before validation). Whatever the write answered, the flows that read the
object then run: authorize, login, consent, code exchange, refresh, client_credentials, userinfo,
introspection, logout, the dashboard pages, ``/u/apps`` and the Management API read. A write must answer
< 500; every flow request must answer < 500 and not raise (a dropped connection). The row is restored after
each case. The summary prints how many field × value × flow cases ran.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, insert, select, update

from consentry.oauth.cimd import fetch as cimd_fetch
from consentry.runtime import Runtime
from consentry.storage.models import (
    Base,
    Client,
    ClientGrant,
    Connection,
    ConnectionClient,
    ResourceServer,
    Tenant,
    User,
)
from tests.conftest import ISSUER
from tests.fuzz import stored
from tests.fuzz.stored import FieldSpec, body_for
from tests.security.summary import add_stored_cases
from tests.support.flow import hidden, pkce_pair, query

pytestmark = pytest.mark.fuzz

API = "https://fuzz.example.com/api"
CB = "https://app.fuzz.example.com/callback"
PARTNER_CB = "https://partner.fuzz.example.com/callback"
PASSWORD = "fuzzing password 1"
EMAIL, ADMIN_EMAIL = "alice@fuzz.example.com", "admin@fuzz.example.com"
SCOPE = "openid profile email offline_access read:things"


JSON = {"Content-Type": "application/json"}


def raw_json(body: Any) -> bytes:
    """JSON as a client may send it: NaN and Infinity included (httpx's ``json=`` refuses them)."""
    return json.dumps(body).encode()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The DCR client is fuzzed as a stored row (its table, its dashboard page): stored at registration.
    return {"dcr_rate_limit_per_minute": 100_000, "dcr_hold_until_consent": False}


@dataclass
class World:
    rt: Runtime
    app: Any
    mgmt: httpx.AsyncClient
    user: httpx.AsyncClient
    admin: httpx.AsyncClient
    anon: httpx.AsyncClient
    ids: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    dcr_token: str = ""
    failures: list[str] = field(default_factory=list)
    case: str = ""
    flows_run: int = 0

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=ISSUER.rstrip("/"))

    async def send(self, flow: str, request: Awaitable[httpx.Response]) -> httpx.Response | None:
        """One request of a flow: a 5xx or an exception (the connection dropped) is a failure of this case."""
        try:
            r = await request
        except Exception as exc:  # noqa: BLE001 - what a client would see as a dropped connection
            self.failures.append(f"{self.case} / {flow}: dropped ({type(exc).__name__}: {str(exc)[:120]})")
            return None
        if r.status_code >= 500:
            self.failures.append(f"{self.case} / {flow}: {r.status_code} {r.text[:160]}")
        return r

    async def follow(self, flow: str, client: httpx.AsyncClient, r: httpx.Response | None) -> httpx.Response | None:
        for _ in range(10):
            if r is None or r.status_code not in (302, 303):
                return r
            location = r.headers["location"]
            if not location.startswith((ISSUER, "/")):
                return r  # left the server: the callback
            r = await self.send(flow, client.get(location))
        return r


# ---------------------------------------------------------------- flows


async def _authorize(w: World, client_id: str, callback: str, ran: set[str]) -> dict[str, str] | None:
    """authorize → (login) → (consent) → the callback's query, through the user's browser."""
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": callback,
        "scope": SCOPE,
        "audience": API,
        "state": "st",
        "nonce": "n",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    ran.add("authorize")
    r = await w.follow("authorize", w.user, await w.send("authorize", w.user.get("/authorize", params=params)))
    for _ in range(3):
        if r is None or r.status_code != 200:
            break
        if 'name="password"' in r.text:
            ran.add("login")
            form = {
                "state": hidden(r.text, "state"),
                "csrf": hidden(r.text, "csrf"),
                "username": EMAIL,
                "password": PASSWORD,
            }
            r = await w.follow("login", w.user, await w.send("login", w.user.post("/u/login", data=form)))
        elif 'name="action" value="accept"' in r.text:
            ran.add("consent")
            form = {"state": hidden(r.text, "state"), "csrf": hidden(r.text, "csrf"), "action": "accept"}
            r = await w.follow("consent", w.user, await w.send("consent", w.user.post("/u/consent", data=form)))
        else:
            break
    if r is None or r.status_code not in (302, 303) or "code=" not in r.headers.get("location", ""):
        return None
    return {**query(r.headers["location"]), "verifier": verifier}


async def user_flows(w: World, client_id: str, callback: str, secret: str | None, ran: set[str]) -> None:
    """The browser flows of one app and the token endpoint calls that follow them."""
    got = await _authorize(w, client_id, callback, ran)
    if got is None:
        return
    ran.add("code_exchange")
    data = {
        "grant_type": "authorization_code",
        "code": got["code"],
        "client_id": client_id,
        "redirect_uri": callback,
        "code_verifier": got["verifier"],
        **({"client_secret": secret} if secret else {}),
    }
    r = await w.send("code_exchange", w.anon.post("/oauth/token", data=data))
    if r is None or r.status_code != 200:
        return
    tokens = r.json()
    if tokens.get("refresh_token"):
        ran.add("refresh")
        data = {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client_id,
            **({"client_secret": secret} if secret else {}),
        }
        await w.send("refresh", w.anon.post("/oauth/token", data=data))
    ran.update({"userinfo", "introspection"})
    await w.send("userinfo", w.anon.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}))
    await w.send(
        "introspection",
        w.anon.post(
            "/oauth/introspect",
            data={"client_id": w.ids["app"], "client_secret": w.secrets["app"], "token": tokens["access_token"]},
        ),
    )


async def client_credentials(w: World, ran: set[str]) -> None:
    ran.add("client_credentials")
    data = {
        "grant_type": "client_credentials",
        "client_id": w.ids["app"],
        "client_secret": w.secrets["app"],
        "audience": API,
    }
    await w.send("client_credentials", w.anon.post("/oauth/token", data=data))


async def logout(w: World, client_id: str, return_to: str, ran: set[str]) -> None:
    ran.add("logout")
    async with w.browser() as anonymous:
        await w.send("logout", anonymous.get("/v2/logout", params={"client_id": client_id, "returnTo": return_to}))
        await w.send("logout", anonymous.get("/v2/logout", params={"returnTo": return_to}))


async def pages(w: World, paths: list[str], reads: list[str], ran: set[str]) -> None:
    """The dashboard pages (as the admin), ``/u/apps`` (as the user) and the Management API reads."""
    ran.update({"dashboard", "u_apps", "management_read"})
    for path in paths:
        await w.send("dashboard", w.admin.get(path.format(**w.ids)))
    await w.send("u_apps", w.user.get("/u/apps"))
    for path in reads:
        await w.send("management_read", w.mgmt.get(path.format(**w.ids)))


@dataclass(frozen=True)
class Reads:
    """The flows that read one kind of object: the apps whose user flows run, the pages and API reads."""

    apps: tuple[str, ...]
    pages: tuple[str, ...]
    reads: tuple[str, ...]


APP_PAGE, PARTNER_PAGE = "/admin/applications/{app}", "/admin/applications/{partner}"
READS = {
    "clients": Reads(("app",), (APP_PAGE, "/admin/applications", "/admin"), ("/api/v2/clients/{app}",)),
    "third_party_clients": Reads(("partner",), (PARTNER_PAGE, "/admin/applications"), ("/api/v2/clients",)),
    "dcr": Reads(("dcr",), ("/admin/applications/{dcr}", "/admin/registrations"), ("/api/v2/clients/{dcr}",)),
    "resource_servers": Reads(
        ("app", "partner"),
        ("/admin/apis/{rs}", "/admin/apis", "/admin/client-grants", APP_PAGE),
        ("/api/v2/resource-servers",),
    ),
    "client_grants": Reads(
        ("partner",),
        ("/admin/client-grants", APP_PAGE, "/admin/applications/{app}/grants/new"),
        ("/api/v2/client-grants",),
    ),
    "connections": Reads(("app",), ("/admin/connections", APP_PAGE), ("/api/v2/connections",)),
    "users": Reads(
        ("app",),
        ("/admin/users/{user}", "/admin/users", "/admin/users/{user}/authorized-applications"),
        ("/api/v2/users/{user}", "/api/v2/users"),
    ),
    "tenant": Reads(("app", "partner"), ("/admin/settings", "/admin", APP_PAGE), ("/api/v2/tenants/settings",)),
}
CALLBACKS = {"app": CB, "partner": PARTNER_CB, "dcr": PARTNER_CB}


async def all_flows(w: World, reads: Reads) -> set[str]:
    """Every flow that reads the object; returns the names of those that ran."""
    ran: set[str] = set()
    for name in reads.apps:
        await user_flows(w, w.ids[name], CALLBACKS[name], w.secrets.get(name), ran)
    await client_credentials(w, ran)
    await logout(w, w.ids[reads.apps[0]], CALLBACKS[reads.apps[0]], ran)
    await pages(w, list(reads.pages), list(reads.reads), ran)
    return ran


# ---------------------------------------------------------------- the world and its restoration


async def _post(w: World, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await w.mgmt.post(path, json=body)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def _sign_in(w: World, client: httpx.AsyncClient, email: str, next_path: str) -> None:
    page = await client.get("/u/login", params={"next": next_path})
    form = {
        "state": hidden(page.text, "state"),
        "csrf": hidden(page.text, "csrf"),
        "username": email,
        "password": PASSWORD,
    }
    assert (await client.post("/u/login", data=form)).status_code == 303


async def build(w: World) -> None:
    from consentry.services.users import create_user
    from consentry.tenant import DEFAULT_DIRECTORY

    rs = await _post(
        w,
        "/api/v2/resource-servers",
        {
            "identifier": API,
            "name": "Fuzz API",
            "allow_offline_access": True,
            "scopes": [{"value": "read:things", "description": "Read"}],
        },
    )
    app = await _post(
        w,
        "/api/v2/clients",
        {
            "name": "Fuzz App",
            "app_type": "regular_web",
            "callbacks": [CB],
            "allowed_logout_urls": [CB],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        },
    )
    partner = await _post(
        w,
        "/api/v2/clients",
        {
            "name": "Fuzz Partner",
            "is_first_party": False,
            "app_type": "spa",
            "callbacks": [PARTNER_CB],
            "allowed_logout_urls": [PARTNER_CB],
        },
    )
    cg = await _post(
        w, "/api/v2/client-grants", {"client_id": app["client_id"], "audience": API, "scope": ["read:things"]}
    )
    await _post(
        w,
        "/api/v2/client-grants",
        {"default_for": "third_party_clients", "audience": API, "scope": ["read:things"], "subject_type": "user"},
    )
    await w.mgmt.patch("/api/v2/tenants/settings", json={"flags": {"enable_dynamic_client_registration": True}})
    r = await w.anon.post(
        "/oidc/register",
        json={"client_name": "Fuzz DCR", "redirect_uris": [PARTNER_CB], "token_endpoint_auth_method": "none"},
    )
    assert r.status_code == 201, r.text
    dcr = r.json()
    async with w.rt.db.transaction() as s:
        user, _ = await create_user(w.rt, s, connection=DEFAULT_DIRECTORY, email=EMAIL, password=PASSWORD)
        await create_user(w.rt, s, connection=DEFAULT_DIRECTORY, email=ADMIN_EMAIL, password=PASSWORD, is_admin=True)
        connection_id = await s.scalar(select(Connection.id).where(Connection.name == DEFAULT_DIRECTORY))
    w.rt.catalog.invalidate()
    # third-party apps sign in only through domain-level connections
    r = await w.mgmt.patch(f"/api/v2/connections/{connection_id}", json={"is_domain_connection": True})
    assert r.status_code == 200, r.text
    w.ids.update(
        rs=rs["id"],
        app=app["client_id"],
        partner=partner["client_id"],
        cg=cg["id"],
        user=user.user_id,
        dcr=dcr["client_id"],
        connection=str(connection_id),
    )
    w.secrets["app"], w.dcr_token = app["client_secret"], dcr["registration_access_token"]
    await _sign_in(w, w.admin, ADMIN_EMAIL, "/admin")
    await _sign_in(w, w.user, EMAIL, "/u/apps")


@dataclass(frozen=True)
class Target:
    """One stored object: its row, where its free-form fields live, and its Management API path."""

    model: type[Base]
    key: str  # w.ids key of the primary key (tenant: none)
    json_column: str
    patch_path: str | None

    def where(self, w: World) -> Any:
        if self.model is Tenant:
            return Tenant.id == 1
        pk = list(self.model.__table__.primary_key.columns)[0]
        return pk == w.ids[self.key]


TARGETS = {
    "clients": Target(Client, "app", "attributes", "/api/v2/clients/{app}"),
    "third_party_clients": Target(Client, "partner", "attributes", "/api/v2/clients/{partner}"),
    "resource_servers": Target(ResourceServer, "rs", "attributes", "/api/v2/resource-servers/{rs}"),
    "client_grants": Target(ClientGrant, "cg", "attributes", "/api/v2/client-grants/{cg}"),
    "connections": Target(Connection, "connection", "attributes", "/api/v2/connections/{connection}"),
    "users": Target(User, "user", "profile", "/api/v2/users/{user}"),
    "tenant": Target(Tenant, "", "settings", "/api/v2/tenants/settings"),
    "dcr": Target(Client, "dcr", "attributes", None),
}


async def snapshot(w: World, target: Target) -> dict[str, Any]:
    async with w.rt.db.read() as s:
        row = (await s.execute(select(target.model.__table__).where(target.where(w)))).mappings().one()
        links = (await s.execute(select(ConnectionClient.__table__))).mappings().all()
    return {"row": copy.deepcopy(dict(row)), "links": [dict(link) for link in links]}


async def restore(w: World, target: Target, snap: dict[str, Any]) -> None:
    async with w.rt.db.transaction() as s:
        await s.execute(update(target.model.__table__).where(target.where(w)).values(**copy.deepcopy(snap["row"])))
        await s.execute(delete(ConnectionClient.__table__))
        await s.execute(insert(ConnectionClient.__table__), snap["links"])
    w.rt.catalog.invalidate()


# ---------------------------------------------------------------- surfaces


def _legacy_values(spec: FieldSpec, target: Target) -> list[Any]:
    """Values a row may hold for ``spec``: any JSON in a JSON column, a string or integer in a typed one."""
    if spec.column is None or spec.column == target.json_column:
        return stored.LEGACY[spec.kind]
    column = target.model.__table__.columns[spec.column]
    python = column.type.python_type
    if python is str:
        return [stored.UNICODE, ""] if not column.nullable else [stored.UNICODE, "", None]
    if python is int:
        return [-1, 0, 2**31 - 1]
    if python in (list, dict):
        return stored.LEGACY[spec.kind]
    return []


def _set_path(container: Any, keys: list[str], value: Any) -> Any:
    """``container`` with ``keys`` set to ``value`` (objects created on the way; an index for a list)."""
    if not keys:
        return value
    head, rest = keys[0], keys[1:]
    if isinstance(container, list) and head.isdigit():
        items = list(container) or [None]
        items[0] = _set_path(items[0], rest, value)
        return items
    base = dict(container) if isinstance(container, dict) else {}
    base[head] = _set_path(base.get(head), rest, value)
    return base


async def write_legacy(w: World, target: Target, spec: FieldSpec, value: Any) -> None:
    """Store ``value`` in the row as it is, bypassing every check."""
    async with w.rt.db.transaction() as s:
        row = (await s.execute(select(target.model.__table__).where(target.where(w)))).mappings().one()
        if spec.column is not None and spec.column != target.json_column:
            column, keys = spec.column, spec.keys[1:]
        elif target.model is Connection and spec.keys[0] == "options":
            column, keys = "options", spec.keys[1:]
        elif target.model is User and spec.keys[0] in ("user_metadata", "app_metadata"):
            column, keys = spec.keys[0], spec.keys[1:]
        else:
            column, keys = target.json_column, spec.keys
        await s.execute(
            update(target.model.__table__)
            .where(target.where(w))
            .values({column: _set_path(copy.deepcopy(row[column]), keys, value)})
        )
    w.rt.catalog.invalidate()


async def write_management(w: World, target: Target, spec: FieldSpec, value: Any) -> bool:
    assert target.patch_path
    path = target.patch_path.format(**w.ids)
    r = await w.send("write", w.mgmt.patch(path, content=raw_json(body_for(spec, value)), headers=JSON))
    return r is not None and r.status_code < 300


async def write_dcr(w: World, spec: FieldSpec, value: Any) -> bool:
    base = {"client_name": "Fuzz DCR", "redirect_uris": [PARTNER_CB], "token_endpoint_auth_method": "none"}
    body = {**base, **body_for(spec, value)}
    await w.send("write", w.anon.post("/oidc/register", content=raw_json(body), headers=JSON))
    r = await w.send(
        "write",
        w.anon.put(
            f"/oidc/register/{w.ids['dcr']}",
            content=raw_json({**body, "client_id": w.ids["dcr"]}),
            headers={**JSON, "Authorization": f"Bearer {w.dcr_token}"},
        ),
    )
    await w.send(
        "management_read",
        w.anon.get(f"/oidc/register/{w.ids['dcr']}", headers={"Authorization": f"Bearer {w.dcr_token}"}),
    )
    return r is not None and r.status_code < 300


async def cimd_case(w: World, spec: FieldSpec, value: Any, n: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """A metadata document with the hostile member, fetched at /authorize; then the pages that show the client."""
    url = f"https://cimd.fuzz.example/clients/{n}"
    doc = {
        "client_id": url,
        "client_name": "Fuzz CIMD",
        "redirect_uris": ["https://cimd.fuzz.example/cb"],
        **body_for(spec, value),
    }
    redirect = doc["redirect_uris"][0] if isinstance(doc.get("redirect_uris"), list) and doc["redirect_uris"] else ""

    async def fetch(settings: Any, fetched: str, host: str) -> tuple[bytes, float]:
        return json.dumps(doc).encode(), 300.0

    monkeypatch.setattr(cimd_fetch, "fetch_document", fetch)
    ran: set[str] = set()
    await user_flows(w, url, redirect if isinstance(redirect, str) else "", None, ran)
    await pages(w, [f"/admin/applications/{url}", "/admin/applications"], [], ran)
    return len(ran)


FORMS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    # page -> (form path template, the form as the page fills it in, the fields typed into)
    "application": (
        "/admin/applications/{app}",
        {
            "name": "Fuzz App",
            "app_type": "regular_web",
            "callbacks": CB,
            "allowed_logout_urls": CB,
            "web_origins": "",
            "logo_uri": "",
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
        },
        [
            "name",
            "callbacks",
            "allowed_logout_urls",
            "web_origins",
            "logo_uri",
            "app_type",
            "token_endpoint_auth_method",
            "grant_types",
        ],
    ),
    "api": (
        "/admin/apis/{rs}",
        {
            "name": "Fuzz API",
            "user_policy": "allow_all",
            "client_policy": "require_client_grant",
            "token_lifetime": "86400",
            "token_dialect": "rfc9068_profile",
            "allow_offline_access": "on",
            "scope_value": ["read:things"],
            "scope_description": ["Read"],
        },
        ["name", "token_lifetime", "token_dialect", "user_policy", "client_policy", "scope_value", "scope_description"],
    ),
    "settings": (
        "/admin/settings",
        {
            "friendly_name": "Fuzz",
            "support_email": "",
            "support_url": "",
            "default_directory": "Username-Password-Authentication",
        },
        ["friendly_name", "support_email", "support_url", "default_directory"],
    ),
}


async def write_form(w: World, page: str, name: str, value: str) -> bool:
    path_template, form, _ = FORMS[page]
    path = path_template.format(**w.ids)
    shown = await w.send("write", w.admin.get(path))
    if shown is None or shown.status_code != 200:
        return False
    data = {**form, name: [value] if isinstance(form.get(name), list) else value, "csrf": hidden(shown.text, "csrf")}
    r = await w.send("write", w.admin.post(path, data=data))
    return r is not None and r.status_code in (302, 303)


# ---------------------------------------------------------------- the test

FULL = {
    "authorize",
    "code_exchange",
    "refresh",
    "userinfo",
    "introspection",
    "client_credentials",
    "logout",
    "dashboard",
    "u_apps",
    "management_read",
}
ENTITIES: dict[str, tuple[list[FieldSpec], str]] = {
    "clients": (stored.CLIENT_FIELDS, "clients"),
    "third_party_clients": (stored.CLIENT_FIELDS, "third_party_clients"),
    "resource_servers": (stored.RESOURCE_SERVER_FIELDS, "resource_servers"),
    "client_grants": (stored.CLIENT_GRANT_FIELDS, "client_grants"),
    "connections": (stored.CONNECTION_FIELDS, "connections"),
    "users": (stored.USER_FIELDS, "users"),
    "tenant_settings": (stored.TENANT_FIELDS, "tenant"),
    "dcr": (stored.DCR_FIELDS, "dcr"),
}


async def _case(
    w: World, target: Target, label: str, write: Callable[[], Awaitable[bool]], snap: dict[str, Any], reads: Reads
) -> tuple[int, int]:
    """One write, then every flow when it was accepted (or stored as is); returns (cases tried, failed)."""
    before = len(w.failures)
    w.case = label
    accepted = await write()
    flows = len(await all_flows(w, reads)) if accepted else 0
    await restore(w, target, snap)
    failed = len(w.failures) > before
    return max(flows, 1), int(failed) * max(flows, 1)


@pytest.fixture
async def world(runtime: Runtime, app: Any, client: httpx.AsyncClient, mgmt_token: str) -> AsyncIterator[World]:
    client.headers["Authorization"] = f"Bearer {mgmt_token}"

    def make() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER.rstrip("/"))

    async with make() as user, make() as admin, make() as anon:
        w = World(runtime, app, client, user, admin, anon)
        await build(w)
        yield w


def _short(value: Any) -> str:
    return repr(value)[:40]


@pytest.mark.parametrize("entity", list(ENTITIES))
async def test_stored_then_used(world: World, entity: str) -> None:
    w = world
    specs, target_name = ENTITIES[entity]
    target, reads = TARGETS[target_name], READS[target_name]
    snap = await snapshot(w, target)
    baseline = await all_flows(w, reads)  # the untouched setup goes all the way: the cases below can fail
    assert FULL <= baseline and not w.failures, (sorted(baseline), w.failures)
    await restore(w, target, snap)
    tried = failed = 0
    for spec in specs:
        for value in stored.HOSTILE[spec.kind]:
            label = f"{entity}.{spec.path}={_short(value)}"
            if target.patch_path:
                write = partial(write_management, w, target, spec, value)
                t, f = await _case(w, target, f"{label} (management)", write, snap, reads)
            else:
                t, f = await _case(w, target, f"{label} (dcr)", partial(write_dcr, w, spec, value), snap, reads)
            tried, failed = tried + t, failed + f
        for value in _legacy_values(spec, target):
            t, f = await _case(
                w,
                target,
                f"{entity}.{spec.path}={_short(value)} (stored)",
                partial(_legacy, w, target, spec, value),
                snap,
                reads,
            )
            tried, failed = tried + t, failed + f
    add_stored_cases(tried, failed)
    assert not w.failures, "\n".join(w.failures[:40])


async def _legacy(w: World, target: Target, spec: FieldSpec, value: Any) -> bool:
    await write_legacy(w, target, spec, value)
    return True


async def test_stored_then_used_dashboard_and_cimd(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard forms and Client ID Metadata Documents, the two surfaces that are not JSON bodies."""
    w = world
    tried = failed = 0
    for page, (_, _, names) in FORMS.items():
        key = "clients" if page == "application" else "resource_servers" if page == "api" else "tenant"
        target = TARGETS[key]
        snap = await snapshot(w, target)
        for name in names:
            for value in stored.FORM_VALUES:
                t, f = await _case(
                    w,
                    target,
                    f"form {page}.{name}={_short(value)}",
                    partial(write_form, w, page, name, value),
                    snap,
                    READS[key],
                )
                tried, failed = tried + t, failed + f
    n = 0
    for spec in stored.CIMD_FIELDS:
        for value in stored.HOSTILE[spec.kind]:
            n += 1
            before = len(w.failures)
            w.case = f"cimd.{spec.path}={_short(value)}"
            flows = await cimd_case(w, spec, value, n, monkeypatch)
            tried, failed = tried + flows, failed + (flows if len(w.failures) > before else 0)
    add_stored_cases(tried, failed)
    assert not w.failures, "\n".join(w.failures[:40])
