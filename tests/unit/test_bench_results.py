"""The data-scale lines of the bench table (``bench/results.py``): the CPU columns tell data from machine."""

from __future__ import annotations

from typing import Any

import pytest

from consentry.bench.results import table


def _report(row: dict[str, Any]) -> dict[str, Any]:
    block = {"summary": "1,000 users", "scenarios": {"sso_flow": row}}
    return {"hello": None, "databases": {}, "scale": {"sqlite": block}}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"server_cpu_ms_per_op": [4.0, 4.4], "load_cpu_ms_per_op": [0.4, 0.4]},
            "server CPU/op  +10 %   load CPU/op   +0 %",
        ),
        (
            {"server_cpu_ms_per_op": [4.0, 3.0], "load_cpu_ms_per_op": [0.4, 0.5]},
            "server CPU/op  -25 %   load CPU/op  +25 %",
        ),
        ({}, None),  # reports written before the CPU columns
        ({"server_cpu_ms_per_op": [None, 3.0], "load_cpu_ms_per_op": [0.4, 0.5]}, None),
    ],
)
def test_scale_lines_show_cpu_per_op_when_known(extra: dict[str, Any], expected: str | None) -> None:
    row = {"empty": 400.0, "scaled": 300.0, "met": False, **extra}
    line = next(line for line in table(_report(row)).splitlines() if "sso_flow" in line)
    assert "-25.0 %" in line and line.endswith("MISS")
    assert (expected in line) if expected else ("CPU/op" not in line)


def test_scaling_line_shows_the_back_to_back_runs_behind_the_means() -> None:
    scaling = {
        "db": "postgresql",
        "workers": 2,
        "one": 1800.0,
        "many": 3300.0,
        "ratio": 1.83,
        "met": True,
        "runs": {"one": [1750.0, 1850.0], "many": [3200.0, 3400.0]},
    }
    lines = table({"hello": None, "databases": {}, "scaling": scaling}).splitlines()
    assert "1 worker 1,800/s, 2 workers 3,300/s = ×1.83 (target ≥ ×1.7)" in lines[-2]
    assert lines[-1].strip() == "means of runs made back to back, 1 worker 1,750 / 1,850 and 2 workers 3,200 / 3,400"


def test_scaling_line_of_an_older_report_without_runs() -> None:
    scaling = {"db": "postgresql", "workers": 2, "one": 2000.0, "many": 3300.0, "ratio": 1.65, "met": False}
    lines = table({"hello": None, "databases": {}, "scaling": scaling}).splitlines()
    assert lines[-1].endswith("×1.65 (target ≥ ×1.7)  MISS")
