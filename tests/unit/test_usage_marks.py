"""``UsageMarks``: ``last_used_at`` is written at most once per interval per client / user grant."""

from __future__ import annotations

import pytest

from consentry.services.usage import UsageMarks

# (calls as (kind, key, now), expected answers of ``due``)
CASES = [
    ([("client", "a", 0.0)], [True]),
    ([("client", "a", 0.0), ("client", "a", 59.9)], [True, False]),
    ([("client", "a", 0.0), ("client", "a", 60.0)], [True, True]),
    ([("client", "a", 0.0), ("client", "a", 30.0), ("client", "a", 61.0)], [True, False, True]),
    ([("client", "a", 0.0), ("client", "b", 1.0)], [True, True]),
    ([("client", "a", 0.0), ("grant", "a", 1.0)], [True, True]),  # kinds do not share keys
]


@pytest.mark.parametrize(("calls", "expected"), CASES)
def test_due_once_per_interval(calls: list[tuple[str, str, float]], expected: list[bool]) -> None:
    marks = UsageMarks(interval=60.0)
    assert [marks.due(*call) for call in calls] == expected


def test_memory_is_bounded_and_stale_keys_go_first() -> None:
    marks = UsageMarks(interval=60.0)
    marks.MAX_ENTRIES = 4
    for i in range(3):
        assert marks.due("grant", f"old{i}", 0.0)
    assert marks.due("grant", "fresh", 100.0)
    assert marks.due("grant", "new", 101.0)  # the table was full: the three stale keys were dropped
    assert len(marks._written) == 2
    assert not marks.due("grant", "fresh", 101.0)  # recent keys are kept
