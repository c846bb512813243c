"""A server process killed (SIGKILL) while consents and code exchanges are in flight leaves no half state.

Two processes share one PostgreSQL: B survives, the victim is started afresh for each round. Users are
brought to the consent page, or to an unexchanged code, through B. Then ``CONSENTS`` consent answers and
``EXCHANGES`` code exchanges are sent to the victim at once, and it is killed as soon as the first answer
is back. A fast machine may answer them all before the kill lands, so rounds go on (up to ``MAX_ROUNDS``)
until some request has lost its answer. Afterwards:

- the database invariants hold (``tests/load/audit.py``): a consumed code has exactly its one refresh
  token, an unconsumed code none; every grant has the consent event written in its transaction;
- what the victim acknowledged is there: each answered consent has its grant, each 200 exchange its token;
- the clients whose request got no answer retry on B (the documented client behaviour): a consent answer is
  simply accepted again (one grant per user, never two), a code exchange either succeeds (the victim had
  not committed) or is refused as a replay, and then every token minted from that code is revoked: no
  live token is left that no client holds.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from consentry.storage.models import AuthorizationCode, RefreshToken, UserGrant
from consentry.tokens import ids
from tests.faults.conftest import Pair
from tests.load.audit import invariants
from tests.load.driver import Browser, Ledger, User
from tests.load.report import record
from tests.load.world import CALLBACK, World
from tests.support.live_server import LiveProcess, live_server

pytestmark = pytest.mark.fault

CONSENTS, EXCHANGES, ROUNDS, MAX_ROUNDS = 6, 6, 2, 4
KILL_AFTER = 1  # answers


async def _scalar(url: str, query: object) -> object:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.scalar(query)  # type: ignore[call-overload]
    finally:
        await engine.dispose()


def _answered(answers: list[str], what: str, enough: asyncio.Event) -> None:
    answers.append(what)
    if len(answers) >= KILL_AFTER:
        enough.set()


async def _round(url: str, world: World, b: str, victim: str, process: LiveProcess, first: int) -> Counter[str]:
    ledger, issuer = Ledger(), process.issuer
    users = [
        User(
            world,
            world.emails[first + i],
            world.user_ids[first + i],
            Browser([b], issuer, ledger, random.Random(i), 30),
            ledger,
        )
        for i in range(CONSENTS + EXCHANGES)
    ]
    consenting, exchanging = users[:CONSENTS], users[CONSENTS:]
    forms = [await u.authorize(stop_at_consent=True) for u in consenting]
    codes = [await u.authorize() for u in exchanging]
    secret = {"client_id": world.app_id, "client_secret": world.app_secret}
    answers: list[str] = []
    enough = asyncio.Event()

    async def consent(u: User, form: tuple[str, str]) -> httpx.Response | None:
        state, csrf = form
        try:
            r = await u.b.http.post(f"{victim}u/consent", data={"state": state, "csrf": csrf, "action": "accept"})
        except httpx.TransportError:
            return None
        _answered(answers, "consent", enough)
        return r

    async def exchange(u: User, code: tuple[str, str]) -> httpx.Response | None:
        data = {
            "grant_type": "authorization_code",
            "code": code[0],
            "code_verifier": code[1],
            "redirect_uri": CALLBACK,
            **secret,
        }
        try:
            r = await u.b.http.post(f"{victim}oauth/token", data=data)
        except httpx.TransportError:
            return None
        _answered(answers, "exchange", enough)
        return r

    in_flight = [asyncio.create_task(consent(u, f)) for u, f in zip(consenting, forms, strict=True)]
    in_flight += [asyncio.create_task(exchange(u, c)) for u, c in zip(exchanging, codes, strict=True)]
    await asyncio.wait_for(enough.wait(), 60)
    os.kill(process.pid, signal.SIGKILL)
    results = await asyncio.gather(*in_flight)
    figures: Counter[str] = Counter()
    for u, r in zip(consenting, results[:CONSENTS], strict=True):
        if r is None:  # no answer: the user presses the button again (on B)
            figures["consents_lost"] += 1
            state, csrf = forms[consenting.index(u)]
            retry = await u.b.http.post(f"{b}u/consent", data={"state": state, "csrf": csrf, "action": "accept"})
            assert retry.status_code == 303, retry.text[:300]
        else:
            figures["consents_answered"] += 1
            assert r.status_code == 303, r.text[:300]
        grants = await _scalar(url, select(func.count()).select_from(UserGrant).where(UserGrant.user_id == u.user_id))
        assert grants == 1, (u.user_id, grants)
    for u, code, r in zip(exchanging, codes, results[CONSENTS:], strict=True):
        digest = ids.digest(code[0])
        if r is not None:
            figures["exchanges_answered"] += 1
            assert r.status_code == 200, r.text
            token = r.json()["refresh_token"]
            held = await _scalar(
                url, select(RefreshToken.revoked_at.is_(None)).where(RefreshToken.token_hash == ids.digest(token))
            )
            assert held is True, "an acknowledged exchange's refresh token is missing"
            continue
        figures["exchanges_lost"] += 1
        committed = await _scalar(
            url, select(AuthorizationCode.consumed_at.is_not(None)).where(AuthorizationCode.code_hash == digest)
        )
        figures["lost_but_committed"] += bool(committed)
        retry = await u.b.http.post(
            f"{b}oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code[0],
                "code_verifier": code[1],
                "redirect_uri": CALLBACK,
                **secret,
            },
        )
        live = await _scalar(
            url,
            select(func.count())
            .select_from(RefreshToken)
            .where(RefreshToken.code_hash == digest, RefreshToken.revoked_at.is_(None)),
        )
        if committed:
            assert retry.status_code == 403 and retry.json()["error"] == "invalid_grant", retry.text
            assert live == 0, "a token minted by the killed process is still live and nobody holds it"
        else:
            assert retry.status_code == 200, retry.text
            assert live == 1
    for u in users:
        await u.b.aclose()
    return figures


async def _all_rounds(pair: Pair, tmp_path: Path) -> Counter[str]:
    total: Counter[str] = Counter()
    first = pair.users("kill").start
    for n in range(MAX_ROUNDS):
        if n >= ROUNDS and total["consents_lost"] + total["exchanges_lost"] > 0:
            break
        env = {"CONSENTRY_ISSUER": pair.issuer}
        with live_server(tmp_path / f"victim{n}", env, database_url=pair.url) as (victim, proc):
            total += await _round(pair.url, pair.world, pair.bases[1], victim, proc, first + n * (CONSENTS + EXCHANGES))
            assert proc.poll() == -signal.SIGKILL
        total["rounds"] += 1
        found = await invariants(pair.url)
        assert not found.problems, found.problems
    return total


def test_killing_a_server_mid_consent_and_mid_exchange_leaves_no_half_state(pg_pair: Pair, tmp_path: Path) -> None:
    assert len(pg_pair.users("kill")) >= MAX_ROUNDS * (CONSENTS + EXCHANGES)
    figures = asyncio.run(_all_rounds(pg_pair, tmp_path))
    lost = figures["consents_lost"] + figures["exchanges_lost"]
    assert lost > 0, f"the kill came too late to catch anything in flight: {figures}"
    record(
        f"kill -9: {figures['rounds']} server processes killed with {CONSENTS} consents and {EXCHANGES} code "
        f"exchanges in flight each; {figures['consents_lost']} consents and {figures['exchanges_lost']} exchanges "
        f"lost their answer ({figures['lost_but_committed']} of those exchanges had committed and were revoked on "
        f"retry); no half state, every acknowledged write present"
    )
