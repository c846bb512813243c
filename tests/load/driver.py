"""Mixed traffic against live servers, with a ledger of everything the clients were given.

Each virtual user is a browser (its own cookie jar) plus the partner app's back end, and repeats:
log in on the authorization page and consent (first time), get a code, exchange it (PKCE), refresh the
tokens a few times (rotation), and sometimes sign in again through SSO or from a new browser (the login
page again), revoke the refresh token (``/oauth/revoke``) or have the consent deleted through the
Management API. Every request goes to one of
``bases`` (several server processes, or one load balancer); absolute URLs under ``issuer`` are ours.

Client retry policy (what docs/deployment.md tells integrators): a ``POST`` that got no answer (connection
error, 502/503/504) is sent once more with the same body. For a code exchange or a refresh whose first
attempt had in fact committed, the second is a replay: Consentry revokes the tokens minted by the first
(RFC 9700) and answers ``invalid_grant``, and the user signs in again. Nothing minted is ever left live
with nobody holding it, which the audit checks.

``python -m tests.load.driver WORLD_JSON BASE[,BASE] ISSUER`` runs it in another process (a network namespace)
and prints the report as JSON; progress lines (``progress N``) go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.load.world import API, CALLBACK, PASSWORD, SCOPE, World
from tests.support.flow import hidden, pkce_pair

RETRY_STATUSES = (502, 503, 504)


@dataclass
class Ledger:
    """What the clients hold and what they were told, for the audit."""

    requests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # "POST /oauth/token 200" -> count
    server_errors: list[str] = field(default_factory=list)  # "<epoch> <request> <status> <body>" of each 5xx
    transport_errors: list[str] = field(default_factory=list)  # "<epoch> <request>: <exception>"
    retries: int = 0
    flows: int = 0
    aborted_flows: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # every code a client received
    exchanged: list[str] = field(default_factory=list)  # codes exchanged with a 200
    logins: int = 0  # successful password logins
    consents: list[str] = field(default_factory=list)  # emails whose consent page was accepted
    access_tokens: list[str] = field(default_factory=list)
    refresh: dict[str, str] = field(default_factory=dict)  # raw refresh token -> live | rotated | revoked
    uncertain: list[str] = field(default_factory=list)  # tokens/codes whose request got no answer at first
    deleted_grants: dict[str, str] = field(default_factory=dict)  # grant id -> user id
    revocations: int = 0
    started: float = 0.0
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["statuses"] = dict(self.statuses)
        return data


class Aborted(Exception):
    """The flow cannot go on (an unexpected answer); the user starts over."""


class Browser:
    def __init__(self, bases: list[str], issuer: str, ledger: Ledger, rng: random.Random, timeout: float) -> None:
        self.bases, self.issuer, self.ledger, self.rng = [b.rstrip("/") for b in bases], issuer, ledger, rng
        self.http = httpx.AsyncClient(timeout=timeout)

    def _url(self, path: str) -> str:
        return self.rng.choice(self.bases) + path

    def local(self, location: str) -> str | None:
        """The path of a URL of ours, None for a URL that leaves the server (the client's callback)."""
        if location.startswith(self.issuer):
            return "/" + location[len(self.issuer) :]
        parts = urlsplit(location)
        return location if not parts.scheme and not parts.netloc else None

    async def request(self, method: str, path: str, *, retry: bool = False, **kw: Any) -> httpx.Response:
        for attempt in (1, 2):
            self.ledger.requests += 1
            key = f"{method} {path.split('?')[0]}"
            try:
                r = await self.http.request(method, self._url(path), **kw)
            except httpx.TransportError as exc:
                self.ledger.transport_errors.append(f"{time.time():.3f} {key}: {type(exc).__name__}")
                if retry and attempt == 1:
                    self.ledger.retries += 1
                    continue
                raise Aborted(f"{key}: {type(exc).__name__}") from None
            self.ledger.statuses[f"{key} {r.status_code}"] += 1
            if r.status_code >= 500:
                self.ledger.server_errors.append(f"{time.time():.3f} {key} {r.status_code} {r.text[:200]}")
                if retry and attempt == 1 and r.status_code in RETRY_STATUSES:
                    self.ledger.retries += 1
                    continue
            return r
        raise AssertionError("unreachable")

    async def follow(self, r: httpx.Response) -> tuple[httpx.Response, str | None]:
        """Follow our own redirects; stop at a page or at the redirect to the client's callback."""
        for _ in range(10):
            if r.status_code not in (302, 303):
                return r, None
            path = self.local(r.headers["location"])
            if path is None:
                return r, r.headers["location"]
            r = await self.request("GET", path)
        raise Aborted("redirect loop")

    async def aclose(self) -> None:
        await self.http.aclose()


def _error(r: httpx.Response) -> str | None:
    """The OAuth error code of a 4xx answer (``invalid_grant`` is a 403, as Auth0 answers it)."""
    if r.status_code not in (400, 401, 403):
        return None
    try:
        return str(r.json().get("error"))
    except ValueError:
        return None


def _code(callback: str | None) -> str:
    if not callback or not callback.startswith(CALLBACK + "?"):
        raise Aborted(f"unexpected callback {str(callback)[:200]}")
    params = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    if "code" not in params:
        raise Aborted(f"no code: {params}")
    return params["code"]


class User:
    """One person with one browser, and the partner app's back end acting for them."""

    def __init__(self, world: World, email: str, user_id: str, browser: Browser, ledger: Ledger) -> None:
        self.world, self.email, self.user_id, self.b, self.ledger = world, email, user_id, browser, ledger
        self.refresh: str | None = None  # the newest refresh token of the current family
        self.family: list[str] = []  # the current family's tokens (one code exchange, then its rotations)
        self.tokens: list[str] = []  # every refresh token this user's app was given

    async def sign_in(self) -> str:
        """The authorization code flow through the pages, then the code exchange; returns the code."""
        code, verifier = await self.authorize()
        await self.exchange(code, verifier)
        return code

    async def authorize(self, stop_at_consent: bool = False) -> tuple[str, str]:
        """Through the pages to the client's callback: ``(code, verifier)``; with ``stop_at_consent``, to the
        consent page: ``(state, csrf)`` of its form (the page is not answered)."""
        verifier, challenge = pkce_pair()
        params = {
            "client_id": self.world.app_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": SCOPE,
            "audience": API,
            "state": "s",
            "nonce": "n",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        r, callback = await self.b.follow(await self.b.request("GET", "/authorize", params=params))
        for _ in range(3):
            if callback is not None:
                break
            page = r.text
            if r.status_code == 200 and 'name="password"' in page:
                form = {
                    "state": hidden(page, "state"),
                    "csrf": hidden(page, "csrf"),
                    "username": self.email,
                    "password": PASSWORD,
                }
                r = await self.b.request("POST", "/u/login", data=form, retry=True)
                self.ledger.logins += r.status_code == 303
                r, callback = await self.b.follow(r)
            elif r.status_code == 200 and 'name="action" value="accept"' in page:
                if stop_at_consent:
                    return hidden(page, "state"), hidden(page, "csrf")
                form = {"state": hidden(page, "state"), "csrf": hidden(page, "csrf"), "action": "accept"}
                r, callback = await self.b.follow(await self.b.request("POST", "/u/consent", data=form, retry=True))
                if callback is not None:
                    self.ledger.consents.append(self.email)
            else:
                raise Aborted(f"page {r.status_code}: {page[:200]}")
        code = _code(callback)
        self.ledger.codes.append(code)
        return code, verifier

    async def token(self, data: dict[str, str], uncertain_key: str) -> httpx.Response:
        before = self.ledger.retries
        r = await self.b.request(
            "POST",
            "/oauth/token",
            data={**data, "client_id": self.world.app_id, "client_secret": self.world.app_secret},
            retry=True,
        )
        if self.ledger.retries != before:
            self.ledger.uncertain.append(uncertain_key)
        return r

    def _took(self, body: dict[str, Any], new_family: bool) -> None:
        self.ledger.access_tokens.append(body["access_token"])
        self.refresh = body["refresh_token"]
        self.ledger.refresh[self.refresh] = "live"
        self.family = [self.refresh] if new_family else [*self.family, self.refresh]
        self.tokens.append(self.refresh)

    def _revoked(self, tokens: list[str]) -> None:
        """The server revokes these (a family, or all of a grant's): rotated ones stay counted as rotated."""
        for raw in tokens:
            if self.ledger.refresh.get(raw) == "live":
                self.ledger.refresh[raw] = "revoked"

    async def exchange(self, code: str, verifier: str) -> None:
        r = await self.token(
            {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": CALLBACK},
            code,
        )
        if r.status_code != 200:
            raise Aborted(f"exchange {r.status_code}: {r.text[:200]}")
        self.ledger.exchanged.append(code)
        self._took(r.json(), new_family=True)

    async def refresh_once(self) -> None:
        assert self.refresh
        old = self.refresh
        r = await self.token({"grant_type": "refresh_token", "refresh_token": old}, old)
        if r.status_code != 200:
            if old in self.ledger.uncertain and _error(r) == "invalid_grant":
                self.ledger.refresh[old] = "rotated"  # the first attempt rotated it; the retry revoked the family
                self._revoked(self.family)
            self.refresh = None
            raise Aborted(f"refresh {r.status_code}: {r.text[:200]}")
        self.ledger.refresh[old] = "rotated"
        self._took(r.json(), new_family=False)

    async def revoke_token(self) -> None:
        assert self.refresh
        r = await self.b.request(
            "POST",
            "/oauth/revoke",
            retry=True,
            data={"token": self.refresh, "client_id": self.world.app_id, "client_secret": self.world.app_secret},
        )
        if r.status_code != 200:
            raise Aborted(f"revoke {r.status_code}: {r.text[:200]}")
        self._revoked(self.family)
        self.ledger.revocations += 1
        self.refresh = None

    async def delete_consent(self, mgmt_token: str) -> None:
        auth = {"Authorization": f"Bearer {mgmt_token}"}
        r = await self.b.request(
            "GET", "/api/v2/grants", headers=auth, params={"user_id": self.user_id, "client_id": self.world.app_id}
        )
        if r.status_code != 200:
            raise Aborted(f"list grants {r.status_code}: {r.text[:200]}")
        for grant in r.json():
            d = await self.b.request("DELETE", f"/api/v2/grants/{grant['id']}", headers=auth, retry=True)
            if d.status_code not in (204, 404):  # 404: the first attempt had deleted it
                raise Aborted(f"delete grant {d.status_code}: {d.text[:200]}")
            self.ledger.deleted_grants[grant["id"]] = self.user_id
            self.ledger.revocations += 1
        self._revoked(self.tokens)  # every refresh token issued under the consent goes with it
        self.refresh = None


async def management_token(b: Browser, world: World) -> str:
    r = await b.request(
        "POST",
        "/oauth/token",
        retry=True,
        data={
            "grant_type": "client_credentials",
            "client_id": world.m2m_id,
            "client_secret": world.m2m_secret,
            "audience": world.management_audience,
        },
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def _iteration(user: User, rng: random.Random, mgmt_token: str, refreshes: int) -> None:
    if user.refresh is None:
        await user.sign_in()
    for _ in range(refreshes):
        await user.refresh_once()
    roll = rng.random()
    if roll < 0.20:
        await user.sign_in()  # SSO: the session and the consent are there, no page
    elif roll < 0.35:
        user.b.http.cookies.clear()  # a new browser: the login page again (the consent is remembered)
        await user.sign_in()
    elif roll < 0.50:
        await user.revoke_token()
    elif roll < 0.60:
        await user.delete_consent(mgmt_token)


async def run_load(
    world: World,
    bases: list[str],
    issuer: str,
    *,
    users: int,
    iterations: int,
    refreshes: int = 2,
    seed: int = 7,
    timeout: float = 30.0,
    progress: Any = None,
) -> Ledger:
    """``users`` concurrent users, ``iterations`` rounds each; returns the ledger."""
    ledger, rng = Ledger(started=time.time()), random.Random(seed)
    admin = Browser(bases, issuer, ledger, random.Random(seed), timeout)
    mgmt_token = await management_token(admin, world)
    done = 0

    async def one(index: int) -> None:
        nonlocal done
        urng = random.Random(seed * 1000 + index)
        browser = Browser(bases, issuer, ledger, urng, timeout)
        user = User(world, world.emails[index], world.user_ids[index], browser, ledger)
        try:
            for _ in range(iterations):
                ledger.flows += 1
                try:
                    await _iteration(user, urng, mgmt_token, refreshes)
                except Aborted as exc:
                    ledger.aborted_flows.append(str(exc)[:300])
                    user.refresh = None
                done += 1
                if progress is not None:
                    progress(done)
        finally:
            await browser.aclose()

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(users)))
    ledger.seconds = time.perf_counter() - t0
    await admin.aclose()
    del rng
    return ledger


async def refresh_refused(world: World, base: str, tokens: list[str]) -> dict[str, int]:
    """Try each token once (after the run): how many were refused with ``invalid_grant`` and how many not."""
    out: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=base.rstrip("/"), timeout=30) as http:
        for raw in tokens:
            r = await http.post(
                "/oauth/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": raw,
                    "client_id": world.app_id,
                    "client_secret": world.app_secret,
                },
            )
            ok = _error(r) == "invalid_grant"
            out["refused" if ok else f"answered {r.status_code}"] += 1
    return dict(out)


def main(argv: list[str]) -> int:
    world = World.from_json(open(argv[1]).read())
    bases, issuer = argv[2].split(","), argv[3]
    users, iterations = int(argv[4]), int(argv[5])

    def progress(n: int) -> None:
        print(f"progress {n}", file=sys.stderr, flush=True)

    ledger = asyncio.run(run_load(world, bases, issuer, users=users, iterations=iterations, progress=progress))
    print(json.dumps(ledger.as_json()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
