"""One user of Auth0's bulk import file format, checked: pure, no I/O (table-tested).

Accepted: ``email``, ``email_verified``, ``user_id`` (an ``auth0|`` prefix, as in an export, is dropped),
``username``, ``name``, ``given_name``, ``family_name``, ``nickname``, ``picture``, ``blocked``,
``app_metadata``, ``user_metadata``, and a password hash Consentry can verify at login:
``password_hash`` (bcrypt) or ``custom_password_hash`` with ``algorithm`` ``bcrypt`` (``$2a$``/``$2b$``/``$2y$``)
or ``argon2`` (``$argon2id$``/``$argon2i$`` PHC strings). Other algorithms (md5, sha*, pbkdf2, ldap, …) are an error
for that user. Fields an export adds (``created_at``, ``identities``, ``logins_count``, …) are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

HASH_PREFIXES = {"bcrypt": ("$2a$", "$2b$", "$2y$"), "argon2": ("$argon2id$", "$argon2i$")}
PROFILE_KEYS = ("name", "given_name", "family_name", "nickname", "picture")
USER_ID = re.compile(r"^[A-Za-z0-9_.\-|@]{1,200}$")
USERNAME = re.compile(r"^[A-Za-z0-9_+\-.!#$'^`~@]{1,128}$")
METADATA_LIMIT = 16 * 1024


@dataclass(frozen=True, kw_only=True)
class ImportedUser:
    user_id: str | None  # without the ``auth0|`` prefix
    email: str | None
    email_verified: bool = False
    username: str | None = None
    password_hash: str | None = None
    blocked: bool = False
    profile: dict[str, Any] = field(default_factory=dict)
    app_metadata: dict[str, Any] = field(default_factory=dict)
    user_metadata: dict[str, Any] = field(default_factory=dict)


def _error(code: str, message: str, path: str = "") -> dict[str, str]:
    return {"code": code, "message": message, "path": path}


def _hash(obj: dict[str, Any], errors: list[dict[str, str]]) -> str | None:
    plain, custom = obj.get("password_hash"), obj.get("custom_password_hash")
    algorithm: Any
    value: Any
    if plain is not None and custom is not None:
        errors.append(_error("CONFLICTING_PROPERTIES", "Use password_hash or custom_password_hash, not both."))
        return None
    if plain is not None:
        algorithm, value = "bcrypt", plain
    elif isinstance(custom, dict):
        algorithm = custom.get("algorithm")
        value = custom.get("hash", {}).get("value") if isinstance(custom.get("hash"), dict) else None
    elif custom is not None:
        errors.append(_error("INVALID_TYPE", "custom_password_hash must be an object.", "custom_password_hash"))
        return None
    else:
        return None
    prefixes = HASH_PREFIXES.get(algorithm) if isinstance(algorithm, str) else None
    if prefixes is None:
        shown = str(algorithm)[:40]
        errors.append(_error("UNSUPPORTED_HASH", f"The hash algorithm '{shown}' is not supported.", "algorithm"))
        return None
    if not isinstance(value, str) or not value.startswith(prefixes) or len(value) > 255:
        errors.append(_error("INVALID_HASH", f"The password hash is not a {algorithm} hash string.", "hash"))
        return None
    return value


def _text(obj: dict[str, Any], key: str, errors: list[dict[str, str]], limit: int = 255) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        errors.append(_error("INVALID_FORMAT", f"{key} must be a string of 1 to {limit} characters.", key))
        return None
    return value


def _flag(obj: dict[str, Any], key: str, errors: list[dict[str, str]]) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        errors.append(_error("INVALID_TYPE", f"{key} must be a boolean.", key))
        return False
    return value


def _metadata(obj: dict[str, Any], key: str, errors: list[dict[str, str]]) -> dict[str, Any]:
    value = obj.get(key, {})
    if not isinstance(value, dict) or len(orjson.dumps(value)) > METADATA_LIMIT:
        errors.append(_error("INVALID_FORMAT", f"{key} must be an object of at most 16 KiB.", key))
        return {}
    return value


def parse_user(obj: Any) -> ImportedUser | list[dict[str, str]]:
    """The user to write, or the errors (Auth0's ``{code, message, path}``) that stop it."""
    if not isinstance(obj, dict):
        return [_error("INVALID_TYPE", "Each user must be a JSON object.")]
    errors: list[dict[str, str]] = []
    email = _text(obj, "email", errors, 320)
    if email is not None and ("@" not in email or email != email.strip()):
        errors.append(_error("INVALID_FORMAT", "email is not a valid email address.", "email"))
    username = _text(obj, "username", errors, 128)
    if username is not None and not USERNAME.match(username):
        errors.append(_error("INVALID_FORMAT", "username has characters that are not allowed.", "username"))
    if email is None and username is None:
        errors.append(_error("OBJECT_MISSING_REQUIRED_PROPERTY", "Missing required property: email", "email"))
    user_id = _text(obj, "user_id", errors, 200)
    if user_id is not None:
        user_id = user_id.removeprefix("auth0|")
        if not USER_ID.match(user_id):
            errors.append(_error("INVALID_FORMAT", "user_id has characters that are not allowed.", "user_id"))
    profile = {k: v for k in PROFILE_KEYS if (v := _text(obj, k, errors, 2000 if k == "picture" else 255))}
    parsed = ImportedUser(
        user_id=user_id,
        email=email.lower() if email else None,
        email_verified=_flag(obj, "email_verified", errors),
        username=username,
        password_hash=_hash(obj, errors),
        blocked=_flag(obj, "blocked", errors),
        profile=profile,
        app_metadata=_metadata(obj, "app_metadata", errors),
        user_metadata=_metadata(obj, "user_metadata", errors),
    )
    return errors if errors else parsed
