"""Steady background traffic for fault scenarios: each worker repeats one kind of request and records
every answer with the moment it came, so a test can look at what happened before, during and after a fault.

Kinds: ``refresh`` (a user's refresh token, rotated: a write), ``m2m`` (client credentials: a read of the
client and its grant), ``mgmt`` (Management API ``GET /api/v2/clients``: a read), ``authorize`` (the start
of a login: writes a pending authorization). A refresh whose answer was lost (5xx, no answer) is retried
with the same token; if that retry is refused as a replay, the user signs in again (``resignins``).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.load.driver import Aborted, Browser, Ledger, User, management_token
from tests.load.world import API, CALLBACK, SCOPE, World
from tests.support.flow import pkce_pair

KINDS = ("refresh", "m2m", "mgmt", "authorize")
CHALLENGE = pkce_pair()[1]


@dataclass
class Answer:
    at: float
    kind: str
    status: int  # 0: no answer (connection error)
    error: str  # OAuth ``error`` / Management ``errorCode`` / page ``data-error``, or the exception name
    base: str


@dataclass
class Traffic:
    answers: list[Answer] = field(default_factory=list)
    resignins: int = 0

    def between(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.at < end]


def _error_of(r: httpx.Response) -> str:
    try:
        body: Any = r.json()
    except ValueError:
        return "page" if r.headers.get("content-type", "").startswith("text/html") else "?"
    if isinstance(body, dict):
        return str(body.get("errorCode") or body.get("error") or "")
    return ""


async def run_traffic(
    world: World,
    bases: list[str],
    issuer: str,
    stop: asyncio.Event,
    ready: asyncio.Event,
    *,
    workers: int = 8,
    users: int = 4,
) -> Traffic:
    """Run until ``stop`` is set (``ready`` is set once the users signed in and the traffic runs); ``users``
    of the world's users do refreshes, the other workers the rest."""
    out = Traffic()
    ledger = Ledger()
    rng = random.Random(11)
    admin = Browser(bases, issuer, ledger, rng, 10.0)
    mgmt = {"Authorization": f"Bearer {await management_token(admin, world)}"}
    people = [
        User(world, world.emails[i], world.user_ids[i], Browser(bases, issuer, ledger, random.Random(i), 10.0), ledger)
        for i in range(users)
    ]
    for person in people:
        await person.sign_in()

    async def one(kind: str, base: str, http: httpx.AsyncClient, person: User | None) -> None:
        if kind == "refresh":
            assert person is not None
            if person.refresh is None:
                try:
                    await person.sign_in()
                    out.resignins += 1
                except Aborted as exc:
                    out.answers.append(Answer(time.monotonic(), "signin", -1, str(exc)[:80], base))
                return
            r = await http.post(
                f"{base}oauth/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": person.refresh,
                    "client_id": world.app_id,
                    "client_secret": world.app_secret,
                },
            )
            if r.status_code == 200:
                person.refresh = r.json()["refresh_token"]
            elif r.status_code < 500:
                person.refresh = None  # refused (its lost first attempt had rotated it): sign in again
        elif kind == "m2m":
            r = await http.post(
                f"{base}oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": world.m2m_id,
                    "client_secret": world.m2m_secret,
                    "audience": world.management_audience,
                },
            )
        elif kind == "mgmt":
            r = await http.get(f"{base}api/v2/clients", headers=mgmt, params={"per_page": "5"})
        else:
            r = await http.get(
                f"{base}authorize",
                params={
                    "client_id": world.app_id,
                    "redirect_uri": CALLBACK,
                    "response_type": "code",
                    "scope": SCOPE,
                    "audience": API,
                    "state": "s",
                    "code_challenge": CHALLENGE,
                    "code_challenge_method": "S256",
                },
            )
        out.answers.append(Answer(time.monotonic(), kind, r.status_code, _error_of(r), base))

    async def worker(index: int) -> None:
        kind = "refresh" if index < users else KINDS[1 + index % 3]
        person = people[index] if index < users else None
        async with httpx.AsyncClient(timeout=10) as http:
            n = 0
            while not stop.is_set():
                base = bases[n % len(bases)]
                n += 1
                try:
                    await one(kind, base, http, person)
                except httpx.TransportError as exc:
                    out.answers.append(Answer(time.monotonic(), kind, 0, type(exc).__name__, base))
                await asyncio.sleep(0.02)

    try:
        ready.set()
        await asyncio.gather(*(worker(i) for i in range(workers)))
    finally:
        for person in people:
            await person.b.aclose()
        await admin.aclose()
    return out
