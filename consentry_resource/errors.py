"""What token checks raise: a bad token (401), a missing scope (403), an issuer out of reach (503)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import Response


class InvalidToken(Exception):
    """The token is missing its signature key, malformed, forged, expired or meant for another resource."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InsufficientScope(Exception):
    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__("missing scope: " + " ".join(missing))
        self.missing = list(missing)


class ValidatorUnavailable(Exception):
    """The issuer's metadata or JWKS could not be fetched and no usable keys are cached."""


class AuthError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response
