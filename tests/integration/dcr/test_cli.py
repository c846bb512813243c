"""``consentry dcr prune [--dry-run]`` and ``consentry dcr create-token`` print JSON on stdout."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentry.bootstrap import bootstrap
from consentry.cli import app
from consentry.commands.clients import ClientCreate
from consentry.runtime import Runtime
from consentry.services.clients import create_client
from tests.conftest import ISSUER, TEST_KEK, _truncate, make_settings


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name, value in {
        "DATABASE_URL": database_url,
        "ISSUER": ISSUER,
        "DATA_DIR": str(tmp_path),
        "KEY_ENCRYPTION_KEY": TEST_KEK,
    }.items():
        monkeypatch.setenv(f"CONSENTRY_{name}", value)
    return database_url


def _seed(database_url: str, tmp_path: Path) -> list[str]:
    """Two DCR clients, one registered two days ago and never used; returns their ids (stale first)."""

    async def run() -> list[str]:
        await _truncate(database_url)
        rt = Runtime.create(make_settings(database_url, tmp_path))
        try:
            await bootstrap(rt)
            made = []
            for age in (2 * 86400, 0):
                async with rt.db.transaction() as s:
                    row, _ = await create_client(
                        rt,
                        s,
                        ClientCreate(name=f"agent {age}", is_first_party=False, callbacks=["https://a.example/cb"]),
                        registration_type="dcr",
                    )
                    row.created_at -= age
                made.append(row.client_id)
            return made
        finally:
            await rt.db.dispose()

    return asyncio.run(run())


def test_prune_dry_run_then_prune(cli_env: str, tmp_path: Path) -> None:
    stale, fresh = _seed(cli_env, tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["dcr", "prune", "--dry-run"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [e["client_id"] for e in listed] == [stale]
    assert listed[0]["reason"] == "never used within 24 hours of registration"
    result = runner.invoke(app, ["dcr", "prune"])
    assert result.exit_code == 0 and [e["client_id"] for e in json.loads(result.stdout)] == [stale]
    result = runner.invoke(app, ["dcr", "prune"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_create_token(cli_env: str) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["dcr", "create-token", "--uses", "3", "--expires-in", "600"])
    assert result.exit_code == 0, result.output
    token = json.loads(result.stdout)
    assert token["uses_left"] == 3 and token["id"].startswith("iat_") and len(token["token"]) >= 40
    assert token["expires_at"].endswith("Z")
    result = runner.invoke(app, ["dcr", "create-token", "--expires-in", "0"])
    assert result.exit_code == 0 and json.loads(result.stdout)["expires_at"] is None
    result = runner.invoke(app, ["dcr", "create-token", "--uses", "0"])
    assert result.exit_code != 0 and result.stdout == ""
