"""Fault scenarios. ``pg_pair``: two ``consentry serve`` processes on one fresh PostgreSQL database with a seeded
tenant (``CONSENTRY_CACHE_TTL=30``, so only LISTEN/NOTIFY keeps them in step), shared by the tests of this
package; each test uses its own users (``users(name)``). Figures print at the end (``tests/load/report.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.load.report import pytest_terminal_summary  # noqa: F401 - prints the recorded figures
from tests.load.world import World, seeded_servers
from tests.support.live_server import LiveProcess, fresh_postgres_database

USERS = {"concurrency": 4, "kill": 48}  # users each test may use, in this order


def database_for(request: pytest.FixtureRequest, tmp: Path) -> str:
    """A fresh database of the kind ``request.param`` names, for a module's ``consentry serve`` processes."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'data' / 'consentry.db'}"
    return asyncio.run(fresh_postgres_database(request.getfixturevalue("postgres_url")))


@dataclass
class Pair:
    url: str
    world: World
    bases: list[str]
    processes: list[LiveProcess]

    @property
    def issuer(self) -> str:
        return self.processes[0].issuer

    def users(self, name: str) -> range:
        """The indexes of the world's users reserved for test ``name``."""
        start = 0
        for key, count in USERS.items():
            if key == name:
                return range(start, start + count)
            start += count
        raise KeyError(name)


@pytest.fixture(scope="package")
def pg_pair(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    url = asyncio.run(fresh_postgres_database(postgres_url))
    tmp = tmp_path_factory.mktemp("pg-pair")
    env = {"CONSENTRY_CACHE_TTL": "30"}
    with seeded_servers(url, tmp, count=2, env=env, users=sum(USERS.values())) as (world, bases, processes):
        yield Pair(url, world, bases, processes)
