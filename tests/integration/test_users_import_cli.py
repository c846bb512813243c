"""``consentry users import FILE``: the import job run in the command's process, a progress bar on stderr,
the summary as JSON on stdout; the users then exist in the database connection."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from nacl import pwhash
from typer.testing import CliRunner

from consentry.cli import app

PASSWORD = "imported password 1"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for key in [k for k in os.environ if k.startswith("CONSENTRY_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("CONSENTRY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONSENTRY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    return tmp_path


def test_import_shows_progress_and_prints_the_summary(cli_env: Path) -> None:
    cheap = pwhash.argon2id.str(PASSWORD.encode(), opslimit=1, memlimit=8192).decode()
    users = [
        {"email": f"cli{i}@example.com", "custom_password_hash": {"algorithm": "argon2", "hash": {"value": cheap}}}
        for i in range(1200)
    ]
    users.append({"email": "not an email"})
    path = cli_env / "users.json"
    path.write_text(json.dumps(users))
    result = CliRunner().invoke(app, ["users", "import", str(path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed" and summary["id"].startswith("job_")
    assert summary["summary"] == {"failed": 1, "updated": 0, "inserted": 1200, "total": 1201}
    assert "importing users" in result.stderr and "1201/1201" in result.stderr
    again = CliRunner().invoke(app, ["users", "import", str(path), "--upsert"])
    assert json.loads(again.stdout)["summary"]["updated"] == 1200


def test_refusals(cli_env: Path) -> None:
    missing = CliRunner().invoke(app, ["users", "import", str(cli_env / "nope.json")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    (cli_env / "bad.json").write_text("{}")
    bad = CliRunner().invoke(app, ["users", "import", str(cli_env / "bad.json")])
    assert bad.exit_code == 1 and "JSON array" in bad.stderr
    (cli_env / "ok.json").write_text("[]")
    conn = CliRunner().invoke(app, ["users", "import", str(cli_env / "ok.json"), "--connection", "nope"])
    assert conn.exit_code == 1 and "connection does not exist" in conn.stderr
