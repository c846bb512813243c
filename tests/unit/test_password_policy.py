"""A database connection's password policy (``login/password_policy.py``): one row per Auth0 rule."""

from __future__ import annotations

from typing import Any

import pytest

from consentry.config_records import ConnectionInfo
from consentry.login import password_policy
from consentry.services.signup import signup_refusal


@pytest.mark.parametrize(
    ("options", "password", "ok", "failed"),
    [
        ({}, "1234567", False, {"lengthAtLeast"}),  # no passwordPolicy: Consentry's 8 characters
        ({}, "12345678", True, set()),
        ({"passwordPolicy": "none"}, "a", True, set()),
        ({"passwordPolicy": "none"}, "", False, {"lengthAtLeast"}),
        ({"passwordPolicy": "low"}, "abcde", False, {"lengthAtLeast"}),
        ({"passwordPolicy": "low"}, "abcdef", True, set()),
        ({"passwordPolicy": "fair"}, "abcdefgh", False, {"contains"}),  # lower, upper and numbers: all three
        ({"passwordPolicy": "fair"}, "abcdEFG1", True, set()),
        ({"passwordPolicy": "good"}, "abcdefgH", False, {"containsAtLeast"}),  # three of the four kinds
        ({"passwordPolicy": "good"}, "abcdefH!", True, set()),
        ({"passwordPolicy": "good"}, "aB1!", False, {"lengthAtLeast"}),
        ({"passwordPolicy": "excellent"}, "abcdefH!x", False, {"lengthAtLeast"}),  # 10 characters
        ({"passwordPolicy": "excellent"}, "aaabcdeH!x", False, {"identicalChars"}),  # "aaa"
        ({"passwordPolicy": "excellent"}, "aabcdeH!xy", True, set()),
        (
            {"passwordPolicy": "low", "password_complexity_options": {"min_length": 12}},
            "abcdefghijk",
            False,
            {"lengthAtLeast"},
        ),
        ({"passwordPolicy": "good", "password_complexity_options": {"min_length": 4}}, "aB1!", True, set()),
        ({"passwordPolicy": "unknown"}, "12345678", True, set()),  # an unknown level: Consentry's rule
        ({"passwordPolicy": "none"}, "x" * 1025, False, set()),  # too long for every level
    ],
)
def test_policy_table(options: dict[str, Any], password: str, ok: bool, failed: set[str]) -> None:
    verdict = password_policy.check(options, password)
    assert verdict.ok is ok
    assert {r.code for r in verdict.rules if not r.verified} == failed


def test_rules_have_auth0s_shape_and_summary() -> None:
    verdict = password_policy.check({"passwordPolicy": "good"}, "abc")
    rules = [r.json() for r in verdict.rules]
    assert rules[0] == {
        "message": "At least %d characters in length",
        "format": [8],
        "code": "lengthAtLeast",
        "verified": False,
    }
    assert rules[1]["code"] == "containsAtLeast" and rules[1]["format"] == [3, 4]
    assert [i["code"] for i in rules[1]["items"]] == ["lowerCase", "upperCase", "numbers", "specialCharacters"]
    assert rules[1]["items"][0]["verified"] is True and rules[1]["items"][1]["verified"] is False
    assert verdict.summary.startswith("* At least 8 characters in length\n* At least 3 of the following 4 types")
    assert verdict.message().startswith("Password is too weak: At least 8 characters in length")


def connection_info(*, strategy: str, options: dict[str, Any]) -> ConnectionInfo:
    return ConnectionInfo(id="con_1", name="db", strategy=strategy, is_domain_connection=False, options=options)


@pytest.mark.parametrize(
    ("strategy", "options", "refusal"),
    [
        ("auth0", {}, None),
        ("auth0", {"disable_signup": False}, None),
        ("auth0", {"disable_signup": True}, "signup_disabled"),
        ("oidc", {}, "not_a_database"),
    ],
)
def test_signup_refusal_table(strategy: str, options: dict[str, Any], refusal: str | None) -> None:
    assert signup_refusal(connection_info(strategy=strategy, options=options)) == refusal


def test_no_connection_no_signup() -> None:
    assert signup_refusal(None) == "connection_not_found"
