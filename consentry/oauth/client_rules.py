"""Rules for client configuration (SPEC T2, T3, T4). Pure functions, table-tested.

Third-party apps may use only ``authorization_code`` (always with S256 PKCE), ``refresh_token`` and,
for confidential clients, ``client_credentials``. Public clients never use ``client_credentials``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"  # Cross App Access (ID-JAG): the app's toggle
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693: ID-JAG requests and delegation
THIRD_PARTY_GRANTS = frozenset(
    {"authorization_code", "refresh_token", "client_credentials", JWT_BEARER, TOKEN_EXCHANGE}
)
FIRST_PARTY_GRANTS = THIRD_PARTY_GRANTS | {"password", PASSWORD_REALM, "implicit"}
PUBLIC_APP_TYPES = frozenset({"spa", "native"})
# Auth0's "Security Controls for Third-Party Applications": /authorize parameters meant for first-party
# features (request objects, ID-token hints, organization invitations, login tickets, the signup screen, the
# OIDC claims request). A third-party app that sends one gets ``invalid_request``.
THIRD_PARTY_REFUSED_PARAMETERS = (
    "claims",
    "id_token_hint",
    "invitation",
    "login_ticket",
    "request",
    "request_uri",
    "screen_hint",
)
# The client properties a third-party app may have (Auth0's "Configure Third-Party Applications"): anything
# else is a first-party feature (SSO tuning, add-ons, custom login pages, delegation, organizations…) and is
# refused with a 400 naming it.
THIRD_PARTY_SETTABLE = frozenset(
    {
        "name",
        "description",
        "app_type",
        "is_first_party",
        "third_party_security_mode",
        "redirection_policy",
        "token_endpoint_auth_method",
        "client_secret",
        "callbacks",
        "allowed_logout_urls",
        "web_origins",
        "allowed_origins",
        "grant_types",
        "logo_uri",
        "client_metadata",
        "jwt_configuration",
        "refresh_token",
        "oidc_conformant",
        "initiate_login_uri",
        "require_pushed_authorization_requests",
        "require_proof_of_possession",
        "is_agent",
    }
)
THIRD_PARTY_JWT_ALG = "RS256"
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


def third_party_settings_problem(data: Mapping[str, object]) -> str | None:
    """Why the properties set on a third-party app are refused, or None (SPEC T4; Auth0's restricted settings).

    ``data`` holds the properties a request sets (Auth0 names). Refresh tokens must expire and rotate; ID tokens
    are signed with RS256 only.
    """
    extra = sorted(k for k in data if k not in THIRD_PARTY_SETTABLE)
    if extra:
        return f"Property '{extra[0]}' cannot be set on third-party applications."
    jwt_cfg = data.get("jwt_configuration")
    if isinstance(jwt_cfg, Mapping) and jwt_cfg.get("alg", THIRD_PARTY_JWT_ALG) != THIRD_PARTY_JWT_ALG:
        return "jwt_configuration.alg must be RS256 for third-party applications."
    refresh = data.get("refresh_token")
    if isinstance(refresh, Mapping):
        if refresh.get("expiration_type") == "non-expiring" or refresh.get("infinite_token_lifetime") is True:
            return "Refresh tokens of third-party applications must expire (expiration_type 'expiring')."
        if refresh.get("rotation_type") == "non-rotating":
            return "Refresh tokens of third-party applications always rotate (rotation_type 'rotating')."
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
