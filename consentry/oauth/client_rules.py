"""Rules for client configuration (SPEC T2, T3, T4). Pure functions, table-tested.

Third-party apps may use only ``authorization_code`` (always with S256 PKCE), ``refresh_token`` and,
for confidential clients, ``client_credentials``. Public clients never use ``client_credentials``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
THIRD_PARTY_GRANTS = frozenset({"authorization_code", "refresh_token", "client_credentials"})
FIRST_PARTY_GRANTS = THIRD_PARTY_GRANTS | {"password", PASSWORD_REALM, "implicit"}
PUBLIC_APP_TYPES = frozenset({"spa", "native"})
# Auth0's "Security Controls for Third-Party Applications": /authorize parameters meant for first-party
# features (request objects, ID-token hints, organization invitations, login tickets, the signup screen, the
# OIDC claims request). A third-party app that sends one gets ``invalid_request``.
THIRD_PARTY_REFUSED_PARAMETERS = (
    "claims", "id_token_hint", "invitation", "login_ticket", "request", "request_uri", "screen_hint",
)  # fmt: skip
# Registrations a third party made itself: they never get machine-to-machine tokens (client_credentials).
SELF_REGISTERED = frozenset({"dcr", "cimd"})


def default_auth_method(app_type: str | None) -> str:
    return "none" if app_type in PUBLIC_APP_TYPES else "client_secret_post"


def default_grant_types(app_type: str | None, *, third_party: bool, public: bool) -> list[str]:
    if third_party:
        return ["authorization_code", "refresh_token"]
    if app_type == "non_interactive":
        return ["client_credentials"]
    if public:
        return ["authorization_code", "refresh_token"]
    return ["authorization_code", "refresh_token", "client_credentials"]


def grant_types_problem(
    grant_types: Sequence[str], *, third_party: bool, public: bool, registration_type: str = "admin"
) -> str | None:
    """Why this set of grant types is refused, or None."""
    if "client_credentials" in grant_types and registration_type in SELF_REGISTERED:
        return "Grant type 'client_credentials' is not allowed for dynamically registered applications."
    allowed = THIRD_PARTY_GRANTS if third_party else FIRST_PARTY_GRANTS
    for g in grant_types:
        if g not in allowed:
            who = "third-party applications" if third_party else "applications"
            return f"Grant type '{g}' is not allowed for {who}."
    if public and "client_credentials" in grant_types:
        return "Grant type 'client_credentials' requires a confidential client (token_endpoint_auth_method is none)."
    if len(set(grant_types)) != len(grant_types):
        return "grant_types contains duplicates."
    return None


def refused_authorize_parameters(params: Mapping[str, str], *, third_party: bool) -> list[str]:
    """The parameters of an authorization request a third-party app may not send, in the list's order."""
    return [p for p in THIRD_PARTY_REFUSED_PARAMETERS if p in params] if third_party else []


def grant_type_refusal(grant_type: str, grant_types: Sequence[str], registration_type: str) -> str | None:
    """Why a client may not use ``grant_type`` at the token endpoint now, or None.

    ``client_credentials`` is for confidential apps an administrator created: a DCR or CIMD client never
    gets it, whatever its stored grant types or client grants say.
    """
    if grant_type == "client_credentials" and registration_type in SELF_REGISTERED:
        return "Grant type 'client_credentials' is not available to dynamically registered applications."
    if grant_type not in grant_types:
        return f"Grant type '{grant_type}' not allowed for the client."
    return None


def display_name_problem(name: str) -> str | None:
    """Why an application name may not be shown on the consent screen, or None.

    Markup characters, blank names and invisible or reordering characters (controls, bidi overrides
    such as U+202E, zero-width spaces) are refused: they could make one app look like another.
    """
    if not name.strip():
        return "must not be blank"
    if "<" in name or ">" in name:
        return "must not contain '<' or '>'"
    if not all(c.isprintable() for c in name):
        return "must not contain control, format or invisible characters"
    return None
