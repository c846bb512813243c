"""``consentry bench --peers`` and the kit's summary: ratios per Consentry per peer, from the pairs only."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentry.bench import peers
from consentry.cli import app

KIT_BENCH = Path(__file__).resolve().parents[2] / "bench" / "peers" / "bench.py"


def kit() -> object:
    spec = importlib.util.spec_from_file_location("peer_bench_kit", KIT_BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(server: str, rate: float, tag: str, pair_with: str) -> dict[str, object]:
    return {
        "block": "refresh",
        "conns": 32,
        "server": server,
        "tag": tag,
        "rate": rate,
        "p99_ms": 10.0,
        "server_cpu_ms_per_req": 2.0,
        "other_cores": 0.0,
        "load_at_start": 0.5,
        "errors": {},
        "pair_with": pair_with,
    }


def test_the_summary_divides_each_consentry_by_the_peer_of_its_own_pair() -> None:
    bench = kit()
    rows = [
        run("oidc-provider", 1000, "pair1", "consentry"),
        run("consentry", 1500, "pair1", "oidc-provider"),
        run("consentry-pg", 500, "pair1", "oidc-provider"),
        run("oidc-provider", 500, "pair2", "consentry"),
        run("consentry", 1000, "pair2", "oidc-provider"),
        run("consentry-pg", 500, "pair2", "oidc-provider"),
    ]
    totals = {"consentry": {"supervisor": 39.0, "worker 1": 100.0, "worker 2": 101.0}}
    table = bench.summarize(rows, {}, totals, {})  # type: ignore[attr-defined]
    peer_row = next(line for line in table.splitlines() if "| oidc-provider |" in line)
    # pair ratios 1.5 and 2.0 (median 1.75) for SQLite; 0.5 and 1.0 (median 0.75) for PostgreSQL
    assert "Consentry (SQLite) **1.75**" in peer_row
    assert "Consentry (PostgreSQL) **0.75**" in peer_row
    assert "| Consentry (SQLite) | supervisor 39, worker 1 100, worker 2 101 | 240 |" in table
    assert "Runs with failed requests: 0." in table


def test_peers_without_the_kit_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(peers, "KIT", tmp_path / "missing")
    result = CliRunner().invoke(app, ["bench", "--peers"])
    assert result.exit_code == 1
    assert "the peer kit is not in this checkout" in result.output
