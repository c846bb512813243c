"""The pure hold policy of register-on-consent DCR: the tenant's values over the server's, one row per rule."""

from __future__ import annotations

from typing import Any

import pytest

from consentry.services.dcr_pending import HoldPolicy, hold_policy
from consentry.settings import Settings

SERVER = Settings.model_construct(
    dcr_hold_until_consent=True, dcr_pending_max=50_000, dcr_pending_hours=24.0, dcr_require_approval=False
)


@pytest.mark.parametrize(
    ("tenant", "expected"),
    [
        ({}, HoldPolicy(enabled=True, max_pending=50_000, hours=24.0, require_approval=False)),
        ({"dcr_pending_max": 10}, HoldPolicy(enabled=True, max_pending=10, hours=24.0, require_approval=False)),
        ({"dcr_pending_hours": 2}, HoldPolicy(enabled=True, max_pending=50_000, hours=2.0, require_approval=False)),
        ({"dcr_pending_hours": 0.5}, HoldPolicy(enabled=True, max_pending=50_000, hours=0.5, require_approval=False)),
        (
            {"dcr_require_approval": True},
            HoldPolicy(enabled=True, max_pending=50_000, hours=24.0, require_approval=True),
        ),
        # stored values of the wrong type or out of range are ignored: the server's setting applies
        ({"dcr_pending_max": "10"}, HoldPolicy(enabled=True, max_pending=50_000, hours=24.0, require_approval=False)),
        ({"dcr_pending_max": True}, HoldPolicy(enabled=True, max_pending=50_000, hours=24.0, require_approval=False)),
        ({"dcr_pending_hours": -1}, HoldPolicy(enabled=True, max_pending=50_000, hours=24.0, require_approval=False)),
        (
            {"dcr_require_approval": "yes"},
            HoldPolicy(enabled=True, max_pending=50_000, hours=24.0, require_approval=False),
        ),
    ],
)
def test_tenant_overrides_server(tenant: dict[str, Any], expected: HoldPolicy) -> None:
    assert hold_policy(SERVER, tenant) == expected


def test_server_can_turn_holding_off() -> None:
    off = Settings.model_construct(
        dcr_hold_until_consent=False, dcr_pending_max=5, dcr_pending_hours=1.0, dcr_require_approval=True
    )
    assert hold_policy(off, {}) == HoldPolicy(enabled=False, max_pending=5, hours=1.0, require_approval=True)
