"""One authorization code, or one refresh token, redeemed by many requests at once: exactly one succeeds.

Real concurrency: two ``consentry serve`` processes on one PostgreSQL, ``N`` requests fired together,
alternating between them. The code exchange consumes the code with an atomic
``UPDATE … WHERE consumed_at IS NULL`` (``oauth/grants/authorization_code.py``) and the refresh rotation
retires the token the same way (``refresh_token.py``): one request wins, the rest are ``invalid_grant``.
A loser that arrives after the winner committed sees a replay and revokes what the winner got (RFC 9700
§4.14), which the test counts but does not require (it depends on timing). The database must show one
consumed code with exactly one refresh token, or one rotated token with exactly one successor.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from consentry.storage.models import AuthorizationCode, RefreshToken
from consentry.tokens import ids
from tests.faults.conftest import Pair
from tests.load.driver import Browser, Ledger, User
from tests.load.report import record
from tests.load.world import CALLBACK, World

pytestmark = pytest.mark.fault

N, ROUNDS = 16, 4


async def _fire(bases: list[str], form: dict[str, str]) -> Counter[str]:
    """``N`` identical token requests at once, alternating between the processes; outcome counts."""
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=N)) as http:
        gate = asyncio.Event()

        async def one(i: int) -> str:
            await gate.wait()
            r = await http.post(f"{bases[i % len(bases)]}oauth/token", data=form)
            return "200" if r.status_code == 200 else f"{r.status_code} {r.json().get('error')}"

        tasks = [asyncio.create_task(one(i)) for i in range(N)]
        await asyncio.sleep(0.05)
        gate.set()
        return Counter(await asyncio.gather(*tasks))


async def _rows(url: str, model: object, where: object) -> list[object]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(model.__table__).where(where))).all())  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


async def _scenario(url: str, world: World, bases: list[str], issuer: str, users: range) -> dict[str, int]:
    ledger = Ledger()
    figures: Counter[str] = Counter()
    secret = {"client_id": world.app_id, "client_secret": world.app_secret}
    for round_, index in zip(range(ROUNDS), users, strict=False):
        user = User(
            world,
            world.emails[index],
            world.user_ids[index],
            Browser(bases, issuer, ledger, random.Random(round_), 30),
            ledger,
        )
        try:
            code, verifier = await user.authorize()
            outcome = await _fire(
                bases,
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "code_verifier": verifier,
                    "redirect_uri": CALLBACK,
                    **secret,
                },
            )
            assert outcome["200"] == 1 and sum(outcome.values()) == N, outcome
            assert set(outcome) <= {"200", "403 invalid_grant", "400 invalid_grant"}, outcome
            (row,) = await _rows(url, AuthorizationCode, AuthorizationCode.code_hash == ids.digest(code))
            assert row.consumed_at is not None  # type: ignore[attr-defined]
            minted = await _rows(url, RefreshToken, RefreshToken.code_hash == ids.digest(code))
            assert len(minted) == 1, minted
            figures["code_replays_revoked"] += minted[0].revoked_at is not None  # type: ignore[attr-defined]
            figures["code_requests"] += N

            await user.sign_in()  # a fresh family to race on
            assert user.refresh
            token = user.refresh
            outcome = await _fire(bases, {"grant_type": "refresh_token", "refresh_token": token, **secret})
            assert outcome["200"] == 1 and sum(outcome.values()) == N, outcome
            assert set(outcome) <= {"200", "403 invalid_grant", "400 invalid_grant"}, outcome
            (old,) = await _rows(url, RefreshToken, RefreshToken.token_hash == ids.digest(token))
            family = await _rows(url, RefreshToken, RefreshToken.family_id == old.family_id)  # type: ignore[attr-defined]
            assert old.rotated_at is not None and len(family) == 2, family  # type: ignore[attr-defined]
            (successor,) = [r for r in family if r.id != old.id]  # type: ignore[attr-defined]
            assert successor.rotated_at is None  # type: ignore[attr-defined]
            figures["refresh_replays_revoked"] += successor.revoked_at is not None  # type: ignore[attr-defined]
            figures["refresh_requests"] += N
        finally:
            await user.b.aclose()
    return dict(figures)


def test_many_requests_redeeming_one_code_or_one_refresh_token_exactly_one_wins(pg_pair: Pair) -> None:
    users = pg_pair.users("concurrency")
    figures = asyncio.run(_scenario(pg_pair.url, pg_pair.world, pg_pair.bases, pg_pair.issuer, users))
    record(
        f"concurrent redemption: {ROUNDS} codes and {ROUNDS} refresh tokens, each redeemed by {N} simultaneous "
        f"requests over 2 processes on PostgreSQL: exactly one 200 every time; families revoked as replays: "
        f"{figures['code_replays_revoked']} of {ROUNDS} codes, {figures['refresh_replays_revoked']} of {ROUNDS} "
        f"refresh tokens"
    )
