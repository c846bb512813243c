"""The audit after a load or fault run: the database against what the clients were given (``Ledger``).

``audit(url, world, ledger)`` reads the rows the run left and returns ``Findings``: figures, and a list of
``problems`` that must be empty. ``invariants(url)`` checks only the database (for kill tests, where no
client ledger can be complete):

- a consumed authorization code has exactly one refresh token minted from it (every flow here asks for
  ``offline_access``), an unconsumed code has none: a code is either unused or consumed with its tokens;
- every user grant has the ``consent.given`` event written in its transaction, with the same scopes;
- no live refresh token belongs to a deleted grant.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import jwt
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from consentry.storage.models import AuditEvent, AuthorizationCode, RefreshToken, SigningKey, UserGrant
from consentry.tokens import ids
from tests.load.driver import Ledger
from tests.load.world import API, World


@dataclass
class Findings:
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)


async def _rows(url: str, client_id: str | None) -> dict[str, list[Any]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            def q(model: Any) -> Any:
                query = select(model.__table__)
                return query if client_id is None else query.where(model.client_id == client_id)

            return {
                "codes": list((await conn.execute(q(AuthorizationCode))).all()),
                "refresh": list((await conn.execute(q(RefreshToken))).all()),
                "grants": list((await conn.execute(q(UserGrant))).all()),
                "consents": list(
                    (await conn.execute(select(AuditEvent.__table__).where(AuditEvent.type == "consent.given"))).all()
                ),
                "keys": list((await conn.execute(select(SigningKey.kid, SigningKey.public_jwk))).all()),
                "audit_total": [await conn.scalar(select(func.count()).select_from(AuditEvent))],
            }
    finally:
        await engine.dispose()


def _database_invariants(rows: dict[str, list[Any]], out: Findings) -> None:
    minted: Counter[str] = Counter(r.code_hash for r in rows["refresh"] if r.code_hash)
    consumed = [c for c in rows["codes"] if c.consumed_at is not None]
    for c in rows["codes"]:
        n = minted.get(c.code_hash, 0)
        if c.consumed_at is not None:
            out.check(n == 1, f"consumed code {c.code_hash[:12]} has {n} refresh tokens (expected 1)")
        else:
            out.check(n == 0, f"unconsumed code {c.code_hash[:12]} has {n} refresh tokens")
    known_codes = {c.code_hash for c in rows["codes"]}
    for code_hash in minted:
        out.check(code_hash in known_codes, f"refresh token minted from unknown code {code_hash[:12]}")
    events: dict[str, Any] = {}
    for e in rows["consents"]:
        grant_id = (e.details or {}).get("grant_id")
        if grant_id:
            events.setdefault(grant_id, []).append(e)
    grant_ids = {g.id for g in rows["grants"]}
    for g in rows["grants"]:
        out.check(g.id in events, f"grant {g.id} has no consent.given event (half-written consent)")
        out.check(bool(g.scope), f"grant {g.id} has no scopes")
    live_orphans = [r for r in rows["refresh"] if r.grant_id and r.grant_id not in grant_ids and r.revoked_at is None]
    out.figures.update(
        codes=len(rows["codes"]),
        codes_consumed=len(consumed),
        refresh_tokens=len(rows["refresh"]),
        grants=len(rows["grants"]),
        consent_events=len(rows["consents"]),
        live_tokens_of_deleted_grants=len(live_orphans),
        audit_events=rows["audit_total"][0],
    )


async def invariants(url: str, client_id: str | None = None) -> Findings:
    """Database-only invariants (after a crash): see the module docstring."""
    out = Findings()
    _database_invariants(await _rows(url, client_id), out)
    return out


def _verify_access_tokens(tokens: list[str], keys: list[Any], issuer: str, out: Findings) -> None:
    public = {kid: jwt.PyJWK(jwk).key for kid, jwk in keys}
    bad = 0
    for token in tokens:
        try:
            kid = jwt.get_unverified_header(token)["kid"]
            jwt.decode(token, public[kid], algorithms=["RS256"], audience=API, issuer=issuer)
        except (jwt.PyJWTError, KeyError):
            bad += 1
    out.check(bad == 0, f"{bad} of {len(tokens)} access tokens do not verify against the published keys")
    out.figures["access_tokens_verified"] = len(tokens) - bad


async def audit(url: str, world: World, ledger: Ledger, issuer: str) -> Findings:
    """Everything issued is accounted for: see the module docstring and ``tests/load/driver.py``."""
    out = Findings()
    rows = await _rows(url, world.app_id)
    _database_invariants(rows, out)
    codes = {c.code_hash: c for c in rows["codes"]}
    for code in ledger.codes:
        row = codes.get(ids.digest(code))
        out.check(row is not None, "a code a client received is not in the database")
        if row is not None:
            out.check(row.consumed_at is not None, "a code a client exchanged (or tried to) is unconsumed")
    received = {ids.digest(c) for c in ledger.codes}
    unreceived = [c for c in rows["codes"] if c.code_hash not in received]
    for c in unreceived:  # only possible when a node died after writing the code and before answering
        out.check(c.consumed_at is None, f"code {c.code_hash[:12]} nobody received was consumed")
    tokens = {r.token_hash: r for r in rows["refresh"]}
    held = {ids.digest(raw): (raw, state) for raw, state in ledger.refresh.items()}
    states: Counter[str] = Counter()
    for digest, (_raw, state) in held.items():
        row = tokens.get(digest)
        out.check(row is not None, f"a refresh token a client was given is not in the database ({state})")
        if row is None:
            continue
        states[state] += 1
        if state == "live":
            out.check(row.rotated_at is None and row.revoked_at is None, f"live token {row.id} is rotated/revoked")
        elif state == "rotated":
            out.check(row.rotated_at is not None, f"rotated token {row.id} has no rotated_at")
        else:
            out.check(row.revoked_at is not None, f"revoked token {row.id} has no revoked_at")
    orphans = [r for h, r in tokens.items() if h not in held]
    for r in orphans:  # minted by a request whose answer was lost; the client's retry revoked it as a replay
        out.check(r.revoked_at is not None, f"refresh token {r.id} nobody holds is still live")
    grants = {g.id for g in rows["grants"]}
    for grant_id in ledger.deleted_grants:
        out.check(grant_id not in grants, f"deleted grant {grant_id} is still there")
    _verify_access_tokens(ledger.access_tokens, rows["keys"], issuer, out)
    out.figures.update(
        requests=ledger.requests,
        flows=ledger.flows,
        aborted_flows=len(ledger.aborted_flows),
        retries=ledger.retries,
        codes_received=len(ledger.codes),
        unreceived_codes=len(unreceived),
        refresh_tokens_given=len(held),
        refresh_states=dict(states),
        orphan_tokens=len(orphans),
        logins=ledger.logins,
        consents=len(ledger.consents),
        revocations=ledger.revocations,
        deleted_grants=len(ledger.deleted_grants),
        server_errors=len(ledger.server_errors),
        transport_errors=len(ledger.transport_errors),
        seconds=round(ledger.seconds, 1),
    )
    return out


def run_audit(url: str, world: World, ledger: Ledger, issuer: str) -> Findings:
    return asyncio.run(audit(url, world, ledger, issuer))
