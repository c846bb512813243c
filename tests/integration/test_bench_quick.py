"""``consentry bench --quick`` end to end on SQLite (what CI runs to keep the harness working).

It fails on harness errors and on any failed request, never on a number: the figures depend on the
machine and on whatever else runs on it (docs/performance.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from consentry.bench.scenarios import SCENARIOS


def test_bench_quick_runs_every_scenario_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    proc = subprocess.run(
        [sys.executable, "-m", "consentry", "bench", "--quick", "--db", "sqlite", "--duration", "1",
         "--connections", "16", "--output", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
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
