"""``consent.durations``: the access durations the consent screen offers and the default it ticks (issue 21).

One table row per rule of precedence, then the user's pick, the stored-value guards and the labels.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from consentry.consent.durations import (
    AGENT_DEFAULT,
    BUILTIN_CHOICES,
    DAY,
    HOUR,
    UNTIL_REVOKED,
    DurationInput,
    DurationOffer,
    choices_problem,
    expires_at,
    label,
    offer,
    stored_choices,
)

WEEK, MONTH = 7 * DAY, 30 * DAY
BASE = DurationInput(
    api_choices=None, api_default=None, tenant_choices=None, tenant_defaults={}, app_type="spa", agent=False
)


def _in(**kw: object) -> DurationInput:
    return replace(BASE, **kw)  # type: ignore[arg-type]


# (input, expected choices, expected default)
TABLE = [
    pytest.param(BASE, (HOUR, DAY, MONTH, UNTIL_REVOKED), UNTIL_REVOKED, id="builtin_choices_default_until_revoked"),
    pytest.param(_in(agent=True), BUILTIN_CHOICES, AGENT_DEFAULT, id="agent_gets_a_bounded_default"),
    pytest.param(
        _in(agent=True, tenant_defaults={"agent": HOUR}), BUILTIN_CHOICES, HOUR, id="tenant_agent_default_wins"
    ),
    pytest.param(
        _in(agent=True, api_default=UNTIL_REVOKED),
        BUILTIN_CHOICES,
        AGENT_DEFAULT,
        id="agent_never_defaults_to_until_revoked",
    ),
    pytest.param(_in(agent=True, api_default=HOUR), BUILTIN_CHOICES, HOUR, id="agent_takes_a_bounded_api_default"),
    pytest.param(
        _in(api_choices=(WEEK, HOUR, 0), api_default=WEEK),
        (HOUR, WEEK, UNTIL_REVOKED),
        WEEK,
        id="api_choices_sorted_until_revoked_last",
    ),
    pytest.param(_in(tenant_choices=(HOUR, DAY)), (HOUR, DAY), DAY, id="tenant_choices_snap_until_revoked_down"),
    pytest.param(_in(api_choices=(HOUR,), tenant_choices=(DAY, WEEK)), (HOUR,), HOUR, id="api_choices_over_tenant"),
    pytest.param(
        _in(api_default=DAY, tenant_defaults={"spa": HOUR}),
        BUILTIN_CHOICES,
        HOUR,
        id="tenant_app_type_default_over_api_default",
    ),
    pytest.param(
        _in(api_default=DAY, tenant_defaults={"native": HOUR}), BUILTIN_CHOICES, DAY, id="other_app_types_do_not_apply"
    ),
    pytest.param(_in(tenant_defaults={"default": MONTH}), BUILTIN_CHOICES, MONTH, id="tenant_default_entry_last"),
    pytest.param(
        _in(api_default=DAY, tenant_defaults={"default": MONTH}),
        BUILTIN_CHOICES,
        DAY,
        id="api_default_over_tenant_default_entry",
    ),
    pytest.param(_in(api_default=WEEK), BUILTIN_CHOICES, DAY, id="default_not_offered_snaps_to_longest_below"),
    pytest.param(
        _in(api_choices=(DAY, MONTH), api_default=HOUR),
        (DAY, MONTH),
        DAY,
        id="default_below_every_choice_takes_the_shortest",
    ),
    pytest.param(
        _in(agent=True, api_choices=(UNTIL_REVOKED,)),
        (UNTIL_REVOKED,),
        UNTIL_REVOKED,
        id="agent_with_only_until_revoked_offered",
    ),
    pytest.param(
        _in(tenant_defaults={"spa": "soon", "default": HOUR}),
        BUILTIN_CHOICES,
        HOUR,
        id="unusable_stored_default_is_skipped",
    ),
]


@pytest.mark.parametrize(("inp", "choices", "default"), TABLE)
def test_offer(inp: DurationInput, choices: tuple[int, ...], default: int) -> None:
    assert offer(inp) == DurationOffer(choices, default)


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        ("", DAY),
        (None, DAY),
        ("3600", HOUR),
        ("0", UNTIL_REVOKED),
        ("7200", None),
        ("-1", None),
        ("1e3", None),
        ("9" * 13, None),
        (" 3600", None),
    ],
)
def test_pick_only_offered_durations(submitted: str | None, expected: int | None) -> None:
    assert DurationOffer(BUILTIN_CHOICES, DAY).pick(submitted) == expected


@pytest.mark.parametrize(
    ("values", "ok"),
    [
        ([3600, 0], True),
        ([], False),
        ([59], False),
        ([3600, 3600], False),
        ([True], False),
        ([1.5], False),
        (list(range(60, 71)), False),
        ([157_788_001], False),
        ([157_788_000], True),
    ],
)
def test_choices_problem(values: list[object], ok: bool) -> None:
    assert (choices_problem(values) is None) is ok
    assert (stored_choices(values) is not None) is ok


def test_stored_choices_of_a_legacy_value_is_none() -> None:
    assert stored_choices("3600") is None and stored_choices(None) is None


def test_expires_at() -> None:
    assert expires_at(1000.0, HOUR) == 4600.0 and expires_at(1000.0, UNTIL_REVOKED) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (HOUR, "1 hour"),
        (DAY, "1 day"),
        (MONTH, "30 days"),
        (0, "Until I revoke it"),
        (2 * HOUR, "2 hours"),
        (90, "90 seconds"),
        (120, "2 minutes"),
    ],
)
def test_label(seconds: int, text: str) -> None:
    assert label(seconds) == text
