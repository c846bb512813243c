"""Home realm discovery and what is kept from an ID token (pure)."""

from __future__ import annotations

import pytest

from consentry.config_records import ConnectionInfo
from consentry.federation.claims import profile_from
from consentry.federation.home_realm import connection_for

CORP = ConnectionInfo("con_1", "corp", "oidc", True, options={"domain_aliases": ["corp.example", "corp.test"]})
OTHER = ConnectionInfo("con_2", "other", "oidc", True, options={"domain_aliases": ["other.example"]})


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        ("alice@corp.example", "corp"),
        ("ALICE@Corp.Test", "corp"),
        ("bob@other.example", "other"),
        ("bob@sub.corp.example", None),  # the whole domain, not a suffix
        ("bob@corp.example.evil", None),
        ("alice", None),
        ("alice@", None),
    ],
)
def test_the_whole_email_domain_picks_the_connection(login: str, expected: str | None) -> None:
    found = connection_for(login, [CORP, OTHER])
    assert (found.name if found else None) == expected


def test_the_profile_keeps_sane_strings_only() -> None:
    email, verified, profile = profile_from(
        {"email": "A@Corp.Example", "email_verified": True, "name": "A", "picture": 5, "nickname": "", "groups": ["x"]}
    )
    assert (email, verified, profile) == ("a@corp.example", True, {"name": "A"})
    assert profile_from({"email": " x@y", "email_verified": True}) == (None, False, {})
    assert profile_from({"email": "x@y", "email_verified": "true"})[1] is False
