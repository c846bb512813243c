"""The pure prune rule: one row per case (defaults: never used 24 hours, idle 30 days)."""

from __future__ import annotations

import pytest

from consentry.services.dcr_prune import PrunePolicy, Usage, is_stale, stale_reason

NOW = 1_800_000_000.0
H, D = 3600.0, 86400.0
POLICY = PrunePolicy(never_used_hours=24, idle_days=30)


@pytest.mark.parametrize(
    ("usage", "stale"),
    [
        # never completed a flow
        (Usage(created_at=NOW - 1 * H, last_used_at=None), False),
        (Usage(created_at=NOW - 24 * H, last_used_at=None), False),  # exactly at the limit: kept
        (Usage(created_at=NOW - 24 * H - 1, last_used_at=None), True),
        (Usage(created_at=NOW - 90 * D, last_used_at=None), True),
        (Usage(created_at=NOW - 90 * D, last_used_at=None, live_grants=1), False),  # consented, code not yet exchanged
        (Usage(created_at=NOW - 90 * D, last_used_at=None, live_refresh_tokens=1), False),
        (
            Usage(created_at=NOW - 90 * D, last_used_at=None, approved_at=NOW - 2 * H),
            False,
        ),  # clock restarts at approval
        (Usage(created_at=NOW - 90 * D, last_used_at=None, approved_at=NOW - 25 * H), True),
        # used, then idle
        (Usage(created_at=NOW - 90 * D, last_used_at=NOW - 1 * H), False),
        (Usage(created_at=NOW - 90 * D, last_used_at=NOW - 30 * D), False),
        (Usage(created_at=NOW - 90 * D, last_used_at=NOW - 30 * D - 1), True),
        (
            Usage(created_at=NOW - 90 * D, last_used_at=NOW - 400 * D, live_grants=1),
            False,
        ),  # a live grant: never removed
        (Usage(created_at=NOW - 90 * D, last_used_at=NOW - 400 * D, live_refresh_tokens=2), False),
        (Usage(created_at=NOW - 90 * D, last_used_at=NOW - 400 * D, live_grants=3, live_refresh_tokens=3), False),
        # a registration newer than its last use (clock skew between processes) is judged by the last use
        (Usage(created_at=NOW, last_used_at=NOW - 31 * D), True),
    ],
)
def test_is_stale(usage: Usage, stale: bool) -> None:
    assert is_stale(usage, POLICY, NOW) is stale
    assert (stale_reason(usage, POLICY, NOW) is not None) is stale


def test_reasons_name_the_rule() -> None:
    assert stale_reason(Usage(NOW - 2 * D, None), POLICY, NOW) == "never used within 24 hours of registration"
    assert stale_reason(Usage(NOW - 90 * D, NOW - 31 * D), POLICY, NOW) == "not used for more than 30 days"
    assert stale_reason(Usage(NOW - 2 * H, None), PrunePolicy(1, 7), NOW) == "never used within 1 hours of registration"


LIVE_TOKENS = PrunePolicy(never_used_hours=24, idle_days=30, access_token_lifetime=40 * D)


@pytest.mark.parametrize(
    ("usage", "stale"),
    [
        # an access token minted at the last use may live longer than the idle rule: kept while it may
        (Usage(created_at=NOW - 90 * D, last_used_at=NOW - 31 * D), False),
        (Usage(created_at=NOW - 90 * D, last_used_at=NOW - 40 * D), False),  # at the limit: kept
        (Usage(created_at=NOW - 90 * D, last_used_at=NOW - 40 * D - 1), True),
        # never used: no token was ever minted, so the lifetime does not matter
        (Usage(created_at=NOW - 25 * H, last_used_at=None), True),
    ],
)
def test_a_possibly_live_access_token_keeps_the_client(usage: Usage, stale: bool) -> None:
    assert is_stale(usage, LIVE_TOKENS, NOW) is stale
