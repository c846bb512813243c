"""``consentry bench --quick`` end to end (what CI runs to keep the harness working).

It fails on harness errors and on any failed request, never on a number: the figures depend on the
machine and on whatever else runs on it (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from consentry.bench.scenarios import SCENARIOS
from tests.support.live_server import fresh_postgres_database


def test_bench_quick_runs_every_scenario_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "consentry",
            "bench",
            "--quick",
            "--db",
            "sqlite",
            "--duration",
            "1",
            "--connections",
            "16",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["errors"] == 0
    assert report["hello"]["errors"] == 0 and report["hello"]["requests"] > 0
    rows = report["databases"]["sqlite"]["scenarios"]
    assert list(rows) == [s.name for s in SCENARIOS]
    for name, row in rows.items():
        assert "skipped" not in row, (name, row.get("skipped"))
        assert row["result"]["errors"] == 0, (name, row["result"])
    assert report["databases"]["sqlite"]["rss_mb"]
    assert "client_credentials" in proc.stdout and "hello world (limit)" in proc.stdout
    # The login's CPU per request, one flow at a time: the login request carries the hash, so it costs more than
    # one verification and more than any other step of the flow.
    login = rows["password_login"]
    steps = login["step_cpu_ms"]
    assert list(steps) == ["authorize", "login page", "POST /u/login", "resume", "token"]
    assert steps["POST /u/login"] > login["argon2_verify_cpu_ms"] * 0.8
    assert steps["POST /u/login"] == max(steps.values())
    assert login["login_request_per_hash"] == pytest.approx(
        steps["POST /u/login"] / login["argon2_verify_cpu_ms"], abs=0.01
    )
    assert "login request / hash" in proc.stdout


def test_bench_scaling_compares_one_and_two_workers_back_to_back(postgres_url: str, tmp_path: Path) -> None:
    """The scaling figure (PostgreSQL): client_credentials with 1, 2, 2, 1 workers, the ratio of the means."""
    url = asyncio.run(fresh_postgres_database(postgres_url))  # the bench seeds and bootstraps its own
    out = tmp_path / "latest.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "consentry",
            "bench",
            "--quick",
            "--db",
            "postgresql",
            "--postgres-url",
            url,
            "--scenario",
            "client_credentials",
            "--duration",
            "1",
            "--connections",
            "16",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    scaling = json.loads(out.read_text())["scaling"]
    runs = scaling["runs"]
    assert len(runs["one"]) == 2 and len(runs["many"]) == 2 and min(runs["one"] + runs["many"]) > 0
    assert scaling["one"] == pytest.approx(sum(runs["one"]) / 2)
    assert scaling["ratio"] == pytest.approx(scaling["many"] / scaling["one"], abs=0.01)
    assert "means of runs made back to back" in proc.stdout
