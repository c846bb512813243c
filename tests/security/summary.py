"""Pytest hooks that count attack cases, fuzz examples and fault scenarios and print them after the run.

Imported by ``tests/conftest.py``. A test counts when it carries the ``attack``, ``fuzz`` or ``fault`` marker;
fuzz tests also report how many generated requests they sent (``add_fuzz_examples``). The lines look like::

    security: 143 attack cases passed, 0 failed (1 expected failure: a known finding)
    fuzz: 1204 examples over 61 operations in 3 tests, 0 failed
    faults: 12 scenarios passed, 0 failed
    stored-then-used: 4211 field × value × flow cases, 0 failed
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

KINDS = ("attack", "fuzz", "fault")
_outcomes: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
_fuzz_examples: Counter[str] = Counter()  # operation -> generated requests sent


_stored_cases: Counter[str] = Counter()  # "tried" / "failed" field × value × flow cases of the stored-then-used fuzzer


def add_fuzz_examples(operation: str, count: int = 1) -> None:
    """Called by fuzz tests for every generated request they send."""
    _fuzz_examples[operation] += count


def add_stored_cases(tried: int, failed: int = 0) -> None:
    """Called by ``tests/fuzz/test_stored_then_used.py``: field × value × flow cases run, and how many failed."""
    _stored_cases["tried"] += tried
    _stored_cases["failed"] += failed


def _outcome(report: pytest.TestReport) -> str | None:
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            return "xfailed" if report.skipped else "failed"  # a strict xfail that passed is a failure
        return report.outcome
    if report.when == "setup" and not report.passed:
        return "skipped" if report.skipped else "failed"
    if report.when == "teardown" and report.failed:
        return "failed"
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    outcome = _outcome(report)
    if outcome is None:
        return
    for kind in KINDS:
        if kind in report.keywords:
            _outcomes[kind][outcome] += 1


def _extra(counts: Counter[str]) -> str:
    parts = []
    if counts["xfailed"]:
        n = counts["xfailed"]
        parts.append(f"{n} expected failure{'s: known findings' if n > 1 else ': a known finding'}")
    if counts["skipped"]:
        parts.append(f"{counts['skipped']} skipped")
    return f" ({'; '.join(parts)})" if parts else ""


def summary_lines() -> list[str]:
    attack, fuzz, fault = (_outcomes[k] for k in KINDS)
    if not any(sum(c.values()) for c in _outcomes.values()):
        return []
    examples, operations = sum(_fuzz_examples.values()), len(_fuzz_examples)
    tests, failed = sum(fuzz.values()), fuzz["failed"]
    lines = [
        f"security: {attack['passed']} attack cases passed, {attack['failed']} failed{_extra(attack)}",
        f"fuzz: {examples} examples over {operations} operations in {tests} tests, {failed} failed{_extra(fuzz)}",
        f"faults: {fault['passed']} scenarios passed, {fault['failed']} failed{_extra(fault)}",
    ]
    if _stored_cases["tried"]:
        lines.append(
            f"stored-then-used: {_stored_cases['tried']} field × value × flow cases, {_stored_cases['failed']} failed"
        )
    return lines


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    lines = summary_lines()
    if lines:
        terminalreporter.section("reliability")
        for line in lines:
            terminalreporter.write_line(line)
