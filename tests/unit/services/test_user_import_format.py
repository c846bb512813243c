"""``user_import_format.parse_user``: Auth0's import format, one row per rule."""

from __future__ import annotations

from typing import Any

import pytest

from consentry.services.user_import_format import ImportedUser, parse_user

BCRYPT = "$2b$04$" + "a" * 53
ARGON = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"email": "Ann@Example.com"}, {"email": "ann@example.com", "password_hash": None}),
        ({"email": "a@x.io", "password_hash": BCRYPT}, {"password_hash": BCRYPT}),
        (
            {"email": "a@x.io", "custom_password_hash": {"algorithm": "bcrypt", "hash": {"value": BCRYPT}}},
            {"password_hash": BCRYPT},
        ),
        (
            {"email": "a@x.io", "custom_password_hash": {"algorithm": "argon2", "hash": {"value": ARGON}}},
            {"password_hash": ARGON},
        ),
        ({"email": "a@x.io", "user_id": "auth0|abc123"}, {"user_id": "abc123"}),  # an export's id
        ({"username": "ann_1"}, {"email": None, "username": "ann_1"}),
        (
            {"email": "a@x.io", "given_name": "Ann", "app_metadata": {"plan": "pro"}, "blocked": True},
            {"profile": {"given_name": "Ann"}, "app_metadata": {"plan": "pro"}, "blocked": True},
        ),
        ({"email": "a@x.io", "created_at": "2020-01-01", "identities": [], "logins_count": 3}, {}),  # export fields
    ],
)
def test_accepted(user: dict[str, Any], expected: dict[str, Any]) -> None:
    parsed = parse_user(user)
    assert isinstance(parsed, ImportedUser), parsed
    for key, value in expected.items():
        assert getattr(parsed, key) == value


@pytest.mark.parametrize(
    ("user", "code"),
    [
        ("ann@example.com", "INVALID_TYPE"),
        ({}, "OBJECT_MISSING_REQUIRED_PROPERTY"),
        ({"email": "not-an-email"}, "INVALID_FORMAT"),
        ({"email": " a@x.io"}, "INVALID_FORMAT"),
        ({"email": 3}, "INVALID_FORMAT"),
        ({"email": "a@x.io", "username": "has space"}, "INVALID_FORMAT"),
        ({"email": "a@x.io", "user_id": "a/b"}, "INVALID_FORMAT"),
        ({"email": "a@x.io", "email_verified": "yes"}, "INVALID_TYPE"),
        ({"email": "a@x.io", "app_metadata": []}, "INVALID_FORMAT"),
        ({"email": "a@x.io", "app_metadata": {"x": "y" * 20000}}, "INVALID_FORMAT"),
        ({"email": "a@x.io", "password_hash": "plaintext"}, "INVALID_HASH"),
        ({"email": "a@x.io", "password_hash": ARGON}, "INVALID_HASH"),  # password_hash is bcrypt only
        ({"email": "a@x.io", "custom_password_hash": {"algorithm": "md5", "hash": {"value": "x"}}}, "UNSUPPORTED_HASH"),
        ({"email": "a@x.io", "custom_password_hash": {"algorithm": "pbkdf2"}}, "UNSUPPORTED_HASH"),
        (
            {"email": "a@x.io", "custom_password_hash": {"algorithm": "argon2", "hash": {"value": BCRYPT}}},
            "INVALID_HASH",
        ),
        ({"email": "a@x.io", "custom_password_hash": "x"}, "INVALID_TYPE"),
        (
            {"email": "a@x.io", "password_hash": BCRYPT, "custom_password_hash": {"algorithm": "bcrypt"}},
            "CONFLICTING_PROPERTIES",
        ),
    ],
)
def test_refused(user: Any, code: str) -> None:
    errors = parse_user(user)
    assert isinstance(errors, list) and code in {e["code"] for e in errors}, errors
    assert all(set(e) == {"code", "message", "path"} for e in errors)
