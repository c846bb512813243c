"""Figures of the load, fault and cluster runs print at the end of the run (``tests/load/report.py``)."""

from __future__ import annotations

from tests.load.report import pytest_terminal_summary  # noqa: F401 - prints the recorded figures
