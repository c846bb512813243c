"""Deletes racing with the requests that read what is deleted: never a 5xx, never a dropped connection (issue 17).

One ``consentry serve`` with two workers (``CONSENTRY_WORKERS=2``, ``CONSENTRY_CACHE_TTL=30``), on SQLite and on
PostgreSQL. Each round stages a fresh application (a first-party web app with its own API, rotating refresh tokens,
a client grant, users signed in), starts about twenty workers that each repeat one kind of request reading it
(code exchange, refresh, client credentials, introspection, ``/userinfo``, ``/authorize`` with and without an SSO
session, the login form, the password-realm grant), and deletes the client, the API, the connection, the user or the
client grant through the Management API once every worker has had its first answer. No sleeps: the delete goes out
while the workers' requests are in flight, and each worker stops after two requests sent after the delete returned.

Every answer must be well formed and none a 5xx or a dropped connection; an answer received before the delete was
sent must be the "before" answer, a request sent after it returned must get the documented "after" answer (its
error code), and a request in flight during the delete may get either (or, for a consumable, the refusal of a row
the delete removed under it).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.faults.conftest import database_for
from tests.load.report import record
from tests.load.world import PASSWORD, World, seeded_servers
from tests.support.flow import hidden, pkce_pair, query

pytestmark = pytest.mark.fault

ROUNDS = 3  # fresh application per round
AFTER = 2  # requests each worker sends after the delete returned
REALM = "http://auth0.com/oauth/grant-type/password-realm"
DIRECTORY = "Username-Password-Authentication"
CALLBACK = "https://race.example.com/callback"
VERIFIER, CHALLENGE = pkce_pair()
_ids = itertools.count()


@dataclass
class Server:
    base: str
    world: World


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp: Path = tmp_path_factory.mktemp(f"races-{request.param}")
    url = database_for(request, tmp)
    env = {"CONSENTRY_WORKERS": "2", "CONSENTRY_CACHE_TTL": "30", "CONSENTRY_LOGIN_MAX_FAILURES": "100000"}
    with seeded_servers(url, tmp, count=1, env=env, users=ROUNDS * 5 * 2) as (world, bases, _):
        yield Server(bases[0], world)


# -- what an answer says ------------------------------------------------------------------------------------------


def outcome(r: httpx.Response) -> str:
    """``"<status> <what>"``: the OAuth error, Management errorCode, error page code, redirect target or ``active``."""
    if r.status_code in (302, 303):
        location = r.headers.get("location", "")
        if location.startswith(CALLBACK):
            params = query(location)
            return f"{r.status_code} code" if "code" in params else f"{r.status_code} error={params.get('error')}"
        return f"{r.status_code} {urlsplit(location).path}"
    kind = r.headers.get("content-type", "")
    if kind.startswith("text/html"):
        m = re.search(r'data-error="([^"]*)"', r.text)
        return f"{r.status_code} page:{m.group(1) if m else ''}"
    if not kind.startswith("application/json"):
        return f"{r.status_code} malformed"
    body = r.json()
    if r.status_code == 200:
        return f"200 {'active' if body.get('active') else 'inactive'}" if "active" in body else "200"
    if "error" not in body or "error_description" not in body:
        return f"{r.status_code} malformed"
    return f"{r.status_code} {body['error']}"


@dataclass(frozen=True)
class Expect:
    """A kind's answers: before the delete, after it, and what else a request in flight during it may get."""

    before: frozenset[str]
    after: frozenset[str]
    racing: frozenset[str] = frozenset()


def _set(value: str | set[str]) -> frozenset[str]:
    return frozenset({value}) if isinstance(value, str) else frozenset(value)


def expect(before: str | set[str], after: str | set[str], racing: set[str] | None = None) -> Expect:
    return Expect(_set(before), _set(after), frozenset(racing or ()))


@dataclass
class Seen:
    kind: str
    phase: str  # before (answered before the delete was sent), after (sent after it returned), during
    outcome: str


# -- the race -----------------------------------------------------------------------------------------------------

Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response | None]]  # None: nothing left to send


@dataclass
class Kind:
    name: str
    send: Send
    workers: int = 2
    cookies: httpx.Cookies | None = None


async def race(base: str, kinds: list[Kind], delete: Callable[[], Awaitable[httpx.Response]]) -> list[Seen]:
    """Run every kind's workers, delete once each has had an answer, stop ``AFTER`` requests after it returned."""
    seen: list[Seen] = []
    total = sum(k.workers for k in kinds)
    answered: set[int] = set()
    ready, started, returned = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def worker(index: int, kind: Kind) -> None:
        after = 0
        limits = httpx.Limits(max_keepalive_connections=0)  # a new connection each time: both workers answer
        async with httpx.AsyncClient(base_url=base, timeout=60, cookies=kind.cookies, limits=limits) as http:
            while after < AFTER:
                sent_after, sent_before = returned.is_set(), not started.is_set()
                try:
                    r = await kind.send(http)
                    label = None if r is None else outcome(r)
                except httpx.TransportError as exc:  # a dropped connection
                    label = f"0 {type(exc).__name__}"
                if label is None:
                    break
                phase = "after" if sent_after else "before" if sent_before and not started.is_set() else "during"
                seen.append(Seen(kind.name, phase, label))
                answered.add(index)
                if len(answered) == total:
                    ready.set()
                after += sent_after
        answered.add(index)
        if len(answered) == total:
            ready.set()

    async def deleter() -> None:
        await ready.wait()
        started.set()
        r = await delete()
        assert r.status_code == 204, r.text
        returned.set()

    workers = [worker(i, k) for i, k in enumerate(k for k in kinds for _ in range(k.workers))]
    await asyncio.gather(deleter(), *workers)
    return seen


def check(seen: list[Seen], expected: dict[str, Expect]) -> None:
    """No 5xx or dropped connection; each answer the one its phase allows."""
    wrong = []
    for s in seen:
        e = expected[s.kind]
        allowed = {"before": e.before, "after": e.after}.get(s.phase, e.before | e.after | e.racing)
        if s.outcome not in allowed:
            wrong.append(f"{s.kind} {s.phase}: {s.outcome}")
    assert not wrong, Counter(wrong)


def summary(seen: list[Seen]) -> str:
    counts = Counter(s.phase for s in seen)
    return f"{len(seen)} answers ({counts['before']} before, {counts['during']} during, {counts['after']} after)"


# -- staging ------------------------------------------------------------------------------------------------------


async def _admin(server: Server) -> httpx.AsyncClient:
    w = server.world
    http = httpx.AsyncClient(base_url=server.base, timeout=60)
    form = {
        "grant_type": "client_credentials",
        "client_id": w.m2m_id,
        "client_secret": w.m2m_secret,
        "audience": w.management_audience,
    }
    r = await http.post("/oauth/token", data=form)
    assert r.status_code == 200, r.text
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return http


async def _created(r: Awaitable[httpx.Response]) -> dict[str, Any]:
    response = await r
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


@dataclass
class App:
    """A staged first-party web app with its own API and client grant, and what its users were given."""

    client_id: str
    secret: str
    api: str
    api_id: str
    grant_id: str
    realm: str = DIRECTORY
    codes: list[str] = field(default_factory=list)
    refresh: list[str] = field(default_factory=list)
    access: str = ""  # a user access token (openid, the API)
    m2m_access: str = ""
    sessions: list[httpx.Cookies] = field(default_factory=list)  # browsers signed in (SSO)

    def creds(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.secret}

    def authorize_params(self) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "state": "s",
            "scope": "openid offline_access read",
            "audience": self.api,
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
        }


async def stage_app(admin: httpx.AsyncClient) -> App:
    n = next(_ids)
    api = f"https://api{n}.race.example.com"
    rs = await _created(
        admin.post(
            "/api/v2/resource-servers",
            json={
                "identifier": api,
                "name": f"Race API {n}",
                "allow_offline_access": True,
                "skip_consent_for_verifiable_first_party_clients": True,
                "scopes": [{"value": "read"}],
            },
        )
    )
    app = await _created(
        admin.post(
            "/api/v2/clients",
            json={
                "name": f"race-{n}",
                "app_type": "regular_web",
                "callbacks": [CALLBACK],
                "grant_types": ["authorization_code", "refresh_token", "client_credentials", REALM],
                "refresh_token": {"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 0},
            },
        )
    )
    grant = await _created(
        admin.post(
            "/api/v2/client-grants",
            json={"client_id": app["client_id"], "audience": api, "scope": ["read"], "subject_type": "client"},
        )
    )
    return App(app["client_id"], app["client_secret"], api, rs["id"], grant["id"])


async def create_user(admin: httpx.AsyncClient, connection: str, email: str) -> dict[str, Any]:
    body = {"connection": connection, "email": email, "password": PASSWORD, "email_verified": True}
    return await _created(admin.post("/api/v2/users", json=body))


async def password_tokens(http: httpx.AsyncClient, app: App, email: str) -> dict[str, Any]:
    return await _created(
        http.post(
            "/oauth/token",
            data={
                "grant_type": REALM,
                "realm": app.realm,
                "username": email,
                "password": PASSWORD,
                **app.creds(),
                "audience": app.api,
                "scope": "openid offline_access read",
            },
        )
    )


async def sign_in(base: str, app: App, email: str) -> httpx.Cookies:
    """Through the login page to a code (first-party, verifiable callback: no consent); returns the cookies."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as browser:
        r = await browser.get("/authorize", params=app.authorize_params())
        assert r.status_code == 302 and urlsplit(r.headers["location"]).path == "/u/login", outcome(r)
        page = await browser.get(r.headers["location"])
        form = {
            "state": hidden(page.text, "state"),
            "csrf": hidden(page.text, "csrf"),
            "username": email,
            "password": PASSWORD,
        }
        r = await browser.post("/u/login", data=form)
        assert r.status_code == 303, outcome(r)
        r = await browser.get(r.headers["location"])
        assert outcome(r) == "302 code", outcome(r)
        return browser.cookies


async def more_codes(base: str, app: App, cookies: httpx.Cookies, count: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60, cookies=cookies) as browser:
        for _ in range(count):
            r = await browser.get("/authorize", params=app.authorize_params())
            assert outcome(r) == "302 code", outcome(r)
            app.codes.append(query(r.headers["location"])["code"])


async def stage_users(server: Server, admin: httpx.AsyncClient, app: App, emails: list[str]) -> None:
    """Sign the users in (SSO sessions, codes) and give them refresh and access tokens."""
    for email in emails:
        cookies = await sign_in(server.base, app, email)
        app.sessions.append(cookies)
        await more_codes(server.base, app, cookies, 5)
        tokens = await password_tokens(admin, app, email)
        app.refresh.append(tokens["refresh_token"])
        app.access = tokens["access_token"]
    r = await admin.post("/oauth/token", data={"grant_type": "client_credentials", **app.creds(), "audience": app.api})
    assert r.status_code == 200, r.text
    app.m2m_access = r.json()["access_token"]


async def login_form(base: str, app: App) -> tuple[httpx.Cookies, dict[str, str]]:
    """A pending login (its pre-login cookie and form fields), to be posted many times."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as browser:
        r = await browser.get("/authorize", params=app.authorize_params())
        page = await browser.get(r.headers["location"])
        return browser.cookies, {"state": hidden(page.text, "state"), "csrf": hidden(page.text, "csrf")}


# -- the kinds of request -----------------------------------------------------------------------------------------


def exchange_kind(app: App) -> Kind:
    async def send(http: httpx.AsyncClient) -> httpx.Response | None:
        if not app.codes:
            return None
        return await http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": app.codes.pop(),
                "code_verifier": VERIFIER,
                "redirect_uri": CALLBACK,
                **app.creds(),
            },
        )

    return Kind("exchange", send, workers=3)


def refresh_kind(app: App) -> Kind:
    async def send(http: httpx.AsyncClient) -> httpx.Response | None:
        if not app.refresh:
            return None
        token = app.refresh.pop()
        r = await http.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token, **app.creds()})
        app.refresh.append(r.json()["refresh_token"] if r.status_code == 200 else token)
        return r

    return Kind("refresh", send, workers=len(app.refresh))


def m2m_kind(app: App) -> Kind:
    async def send(http: httpx.AsyncClient) -> httpx.Response:
        return await http.post(
            "/oauth/token", data={"grant_type": "client_credentials", **app.creds(), "audience": app.api}
        )

    return Kind("m2m", send)


def introspect_kind(app: App, token: str, name: str = "introspect") -> Kind:
    async def send(http: httpx.AsyncClient) -> httpx.Response:
        return await http.post("/oauth/introspect", data={"token": token, **app.creds()})

    return Kind(name, send)


def userinfo_kind(app: App) -> Kind:
    async def send(http: httpx.AsyncClient) -> httpx.Response:
        return await http.get("/userinfo", headers={"Authorization": f"Bearer {app.access}"})

    return Kind("userinfo", send)


def authorize_kind(app: App, cookies: httpx.Cookies | None, name: str) -> Kind:
    async def send(http: httpx.AsyncClient) -> httpx.Response:
        return await http.get("/authorize", params=app.authorize_params())

    return Kind(name, send, cookies=cookies)


def password_kind(app: App, email: str) -> Kind:
    async def send(http: httpx.AsyncClient) -> httpx.Response:
        return await http.post(
            "/oauth/token",
            data={
                "grant_type": REALM,
                "realm": app.realm,
                "username": email,
                "password": PASSWORD,
                **app.creds(),
                "audience": app.api,
                "scope": "openid offline_access read",
            },
        )

    return Kind("password", send)


def login_kind(cookies: httpx.Cookies, form: dict[str, str], email: str) -> Kind:
    async def send(http: httpx.AsyncClient) -> httpx.Response:
        return await http.post("/u/login", data={**form, "username": email, "password": PASSWORD})

    return Kind("login", send, workers=1, cookies=cookies)


# -- the scenarios ------------------------------------------------------------------------------------------------

TOKEN = {"exchange", "refresh", "m2m", "password"}


def user_kinds(server: Server, app: App, email: str, login: tuple[httpx.Cookies, dict[str, str]]) -> list[Kind]:
    return [
        exchange_kind(app),
        refresh_kind(app),
        userinfo_kind(app),
        introspect_kind(app, app.access),
        authorize_kind(app, app.sessions[0], "authorize_sso"),
        password_kind(app, email),
        login_kind(*login, email),
    ]


USER_GONE = {
    "exchange": expect("200", "403 invalid_grant"),
    "refresh": expect("200", "403 invalid_grant"),
    "userinfo": expect("200", "401 invalid_token"),
    "introspect": expect("200 active", "200 inactive"),
    "authorize_sso": expect("302 code", "302 /u/login"),
    "password": expect("200", "403 invalid_grant"),
    "login": expect("303 /authorize/resume", "401 page:"),
}


async def test_client_deleted_while_its_requests_are_in_flight(server: Server) -> None:
    admin = await _admin(server)
    seen: list[Seen] = []
    try:
        for round_ in range(ROUNDS):
            app = await stage_app(admin)
            emails = server.world.emails[2 * round_ : 2 * round_ + 2]
            await stage_users(server, admin, app, emails)
            kinds = [
                exchange_kind(app),
                refresh_kind(app),
                m2m_kind(app),
                introspect_kind(app, app.access),
                userinfo_kind(app),
                authorize_kind(app, app.sessions[0], "authorize_sso"),
                authorize_kind(app, None, "authorize"),
                password_kind(app, emails[0]),
            ]
            seen += await race(server.base, kinds, partial(admin.delete, f"/api/v2/clients/{app.client_id}"))
    finally:
        await admin.aclose()
    gone = "401 invalid_client"
    check(
        seen,
        {
            "exchange": expect("200", gone, {"403 invalid_grant"}),  # its code went with the client
            "refresh": expect("200", gone, {"403 invalid_grant"}),
            "m2m": expect("200", gone),
            "introspect": expect("200 active", gone, {"200 inactive"}),
            "userinfo": expect("200", "401 invalid_token"),
            "authorize_sso": expect("302 code", "400 page:invalid_client"),
            "authorize": expect("302 /u/login", "400 page:invalid_client"),
            "password": expect("200", gone),
        },
    )
    record(f"delete races, client deleted: {summary(seen)}, no 5xx, no dropped connection")


async def test_api_deleted_while_its_requests_are_in_flight(server: Server) -> None:
    admin = await _admin(server)
    seen: list[Seen] = []
    try:
        for round_ in range(ROUNDS):
            app = await stage_app(admin)
            first = 2 * (ROUNDS + round_)
            emails = server.world.emails[first : first + 2]
            await stage_users(server, admin, app, emails)
            kinds = [
                exchange_kind(app),
                refresh_kind(app),
                m2m_kind(app),
                introspect_kind(app, app.access),
                introspect_kind(app, app.m2m_access, "introspect_m2m"),
                userinfo_kind(app),
                authorize_kind(app, app.sessions[0], "authorize_sso"),
                password_kind(app, emails[0]),
            ]
            seen += await race(server.base, kinds, partial(admin.delete, f"/api/v2/resource-servers/{app.api_id}"))
    finally:
        await admin.aclose()
    check(
        seen,
        {
            "exchange": expect("200", "403 invalid_grant"),
            "refresh": expect("200", "403 invalid_grant"),
            "m2m": expect("200", "403 access_denied"),
            "introspect": expect("200 active", "200 inactive"),
            "introspect_m2m": expect("200 active", "200 inactive"),
            "userinfo": expect("200", "401 invalid_token"),
            "authorize_sso": expect("302 code", "302 error=invalid_target"),
            "password": expect("200", "403 access_denied"),
        },
    )
    record(f"delete races, API deleted: {summary(seen)}, no 5xx, no dropped connection")


async def test_client_grant_deleted_while_its_requests_are_in_flight(server: Server) -> None:
    admin = await _admin(server)
    seen: list[Seen] = []
    try:
        for _ in range(ROUNDS):
            app = await stage_app(admin)
            await stage_users(server, admin, app, [])
            kinds = [m2m_kind(app), introspect_kind(app, app.m2m_access, "introspect_m2m")]
            for kind in kinds:
                kind.workers = 4
            seen += await race(server.base, kinds, partial(admin.delete, f"/api/v2/client-grants/{app.grant_id}"))
    finally:
        await admin.aclose()
    check(seen, {"m2m": expect("200", "403 access_denied"), "introspect_m2m": expect("200 active", "200 inactive")})
    record(f"delete races, client grant deleted: {summary(seen)}, no 5xx, no dropped connection")


async def test_user_deleted_while_their_requests_are_in_flight(server: Server) -> None:
    admin = await _admin(server)
    seen: list[Seen] = []
    try:
        for _ in range(ROUNDS):
            app = await stage_app(admin)
            email = f"victim{next(_ids)}@race.example.com"
            user = await create_user(admin, DIRECTORY, email)
            await stage_users(server, admin, app, [email])
            app.refresh.append((await password_tokens(admin, app, email))["refresh_token"])
            kinds = user_kinds(server, app, email, await login_form(server.base, app))
            seen += await race(server.base, kinds, partial(admin.delete, f"/api/v2/users/{user['user_id']}"))
    finally:
        await admin.aclose()
    check(seen, USER_GONE)
    record(f"delete races, user deleted: {summary(seen)}, no 5xx, no dropped connection")


async def test_connection_deleted_while_its_users_requests_are_in_flight(server: Server) -> None:
    admin = await _admin(server)
    seen: list[Seen] = []
    try:
        for _ in range(ROUNDS):
            app = await stage_app(admin)
            n = next(_ids)
            conn = await _created(
                admin.post(
                    "/api/v2/connections",
                    json={"name": f"race-db-{n}", "strategy": "auth0", "is_domain_connection": True},
                )
            )
            app.realm = conn["name"]
            emails = [f"member{n}-{i}@race.example.com" for i in range(2)]
            for email in emails:
                await create_user(admin, conn["name"], email)
            await stage_users(server, admin, app, emails)
            kinds = user_kinds(server, app, emails[0], await login_form(server.base, app))
            seen += await race(server.base, kinds, partial(admin.delete, f"/api/v2/connections/{conn['id']}"))
    finally:
        await admin.aclose()
    # after: the realm is gone; in flight: the users may go before it
    check(seen, {**USER_GONE, "password": expect("200", "400 invalid_request", {"403 invalid_grant"})})
    record(f"delete races, connection deleted: {summary(seen)}, no 5xx, no dropped connection")
