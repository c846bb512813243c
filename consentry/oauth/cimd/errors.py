"""The one refusal every step of resolving a metadata-document client raises."""

from __future__ import annotations

from dataclasses import replace

from consentry.oauth.errors import INVALID_CLIENT, OAuthError


def refuse(description: str, debug: str = "") -> OAuthError:
    """``invalid_client`` (400: nothing was authenticated), never redirected: the redirect URIs are unknown."""
    return replace(INVALID_CLIENT, description=description, debug=debug, status=400, redirectable=False)
