"""What a user record keeps from an upstream ID token (the profile is refreshed at every sign-in)."""

from __future__ import annotations

from typing import Any

PROFILE_CLAIMS = ("name", "nickname", "given_name", "family_name", "picture", "locale")


def profile_from(claims: dict[str, Any]) -> tuple[str | None, bool, dict[str, Any]]:
    """(email, email_verified, profile) kept from an ID token: strings of sane length only."""
    email = claims.get("email")
    if not (isinstance(email, str) and "@" in email and len(email) <= 320 and email == email.strip()):
        email = None
    verified = claims.get("email_verified") is True and email is not None
    profile = {k: v for k in PROFILE_CLAIMS if isinstance(v := claims.get(k), str) and 0 < len(v) <= 2000}
    return (email.lower() if email else None), verified, profile
