"""Figures from the load, fault and cluster runs, printed once at the end of the run (``reliability`` section).

Tests call ``record(line)``; ``tests/load``, ``tests/faults`` and ``tests/cluster`` each import
``pytest_terminal_summary`` from here in their ``conftest.py`` (it prints only once however many did).
"""

from __future__ import annotations

from typing import Any

_lines: list[str] = []
_printed = False


def record(line: str) -> None:
    _lines.append(line)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    global _printed
    if _printed or not _lines:
        return
    _printed = True
    terminalreporter.section("load and faults")
    for line in _lines:
        terminalreporter.write_line(line)
