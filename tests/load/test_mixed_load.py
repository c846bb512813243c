"""Load with integrity: mixed traffic through two server processes on one PostgreSQL, then an audit.

Bounded in count (``USERS`` × ``ROUNDS`` flows) and loopback only. Every request goes to either process at
random, so a login on one is resumed on the other and tokens minted by one are refreshed by the other.
Afterwards every issued code and token is checked against the database (``tests/load/audit.py``), every
token of a revoked consent or family is refused, and no request got a 5xx.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.load.audit import run_audit
from tests.load.driver import refresh_refused, run_load
from tests.load.report import record
from tests.load.world import seeded_servers
from tests.support.live_server import fresh_postgres_database

pytestmark = pytest.mark.fault

USERS, ROUNDS = 16, 10


def test_mixed_load_on_two_processes_accounts_for_every_token(tmp_path: Path, postgres_url: str) -> None:
    url = asyncio.run(fresh_postgres_database(postgres_url))
    with seeded_servers(url, tmp_path, count=2, users=USERS) as (world, bases, processes):
        issuer = processes[0].issuer
        ledger = asyncio.run(run_load(world, bases, issuer, users=USERS, iterations=ROUNDS))
        findings = run_audit(url, world, ledger, issuer)
        dead = [raw for raw, state in ledger.refresh.items() if state != "live"]
        refused = asyncio.run(refresh_refused(world, bases[1], dead))
    figures = findings.figures
    assert not findings.problems, findings.problems
    assert not ledger.server_errors, ledger.server_errors[:5]
    assert not ledger.aborted_flows, ledger.aborted_flows[:5]
    assert not ledger.transport_errors and ledger.retries == 0
    assert refused == {"refused": len(dead)}, refused
    assert figures["consents"] >= USERS and figures["revocations"] > 0 and figures["deleted_grants"] > 0
    assert figures["logins"] > USERS  # some users signed in again from a new browser
    rate = ledger.requests / ledger.seconds
    record(
        f"load: {ledger.requests} requests ({rate:.0f}/s) over 2 processes on PostgreSQL: "
        f"{figures['logins']} logins, {figures['consents']} consents, {figures['codes_received']} code exchanges, "
        f"{figures['refresh_states'].get('rotated', 0)} refreshes, {figures['revocations']} revocations; 0 5xx; "
        f"every code and token accounted for; then {len(dead)} revoked or rotated tokens all refused"
    )
    print(figures)
