"""One OAuth error type (RFC 6749 §5.2 / §4.1.2.1), raised by code and rendered in one place.

``description`` is safe for the client; ``debug`` appears only when ``expose_debug`` is on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

# RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
_UNSAFE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


@dataclass(eq=False)  # not frozen: the exception machinery sets __traceback__
class OAuthError(Exception):
    error: str
    description: str
    status: int = 400
    debug: str = ""
    redirectable: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    def with_hint(self, description: str) -> OAuthError:
        return replace(self, description=description)

    def with_debug(self, debug: str) -> OAuthError:
        return replace(self, debug=debug)

    def with_status(self, status: int) -> OAuthError:
        return replace(self, status=status)

    def with_headers(self, headers: dict[str, str]) -> OAuthError:
        return replace(self, headers=headers)

    def body(self, expose_debug: bool = False) -> dict[str, str]:
        text = self.description + (f" ({self.debug})" if expose_debug and self.debug else "")
        return {"error": self.error, "error_description": _UNSAFE.sub("?", text)}

    def __str__(self) -> str:
        return f"{self.error}: {self.description}"


INVALID_REQUEST = OAuthError("invalid_request", "The request is missing a parameter or is malformed.")
INVALID_CLIENT = OAuthError("invalid_client", "Client authentication failed.", 401)
INVALID_GRANT = OAuthError("invalid_grant", "The grant is invalid, expired or revoked.", 403)
UNAUTHORIZED_CLIENT = OAuthError("unauthorized_client", "The client is not allowed to use this grant type.", 403)
UNSUPPORTED_GRANT_TYPE = OAuthError("unsupported_grant_type", "Unsupported grant type.", 501)
UNSUPPORTED_RESPONSE_TYPE = OAuthError("unsupported_response_type", "Only response_type=code is supported.")
INVALID_SCOPE = OAuthError("invalid_scope", "The requested scope is invalid.")
INVALID_TARGET = OAuthError("invalid_target", "The requested resource is not a registered API.")
ACCESS_DENIED = OAuthError("access_denied", "The request was denied.", 403)
LOGIN_REQUIRED = OAuthError("login_required", "Login required.")
CONSENT_REQUIRED = OAuthError("consent_required", "Consent required.")
INTERACTION_REQUIRED = OAuthError("interaction_required", "Interaction required.")
INVALID_TOKEN = OAuthError("invalid_token", "The access token is invalid or expired.", 401)
INSUFFICIENT_SCOPE = OAuthError("insufficient_scope", "The access token lacks the required scope.", 403)
INVALID_CLIENT_METADATA = OAuthError("invalid_client_metadata", "The client metadata is invalid.")
INVALID_REDIRECT_URI = OAuthError("invalid_redirect_uri", "A redirect URI is not allowed.")
SERVER_ERROR = OAuthError("server_error", "The server could not complete the request.", 500)
TEMPORARILY_UNAVAILABLE = OAuthError("temporarily_unavailable", "The service is temporarily unavailable.", 503)
TOO_MANY_REQUESTS = OAuthError("too_many_requests", "Too many requests. Try again later.", 429)
