"""What the stored-then-used fuzzer writes: the writable fields of each object, hostile values per field kind.

A field is named by its path in the Management API body (``jwt_configuration.lifetime_in_seconds``); its kind
picks the hostile values written to it (wrong types, bounds, unicode, huge, empty). ``legacy`` values are
written straight into the row, bypassing validation, as a row from before validation (or edited by hand)
would hold them: the flows must still answer a clean 4xx or an error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HUGE_INT = int("9" * 400)
LONG = "x" * 5000
UNICODE = "\u202eevil\u200b \U0001f642 漢字"


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


# kind -> hostile values written through the APIs (JSON-representable; NaN is sent as such). A representative
# few per kind, so that every field × value × flow case runs on both databases in about two minutes.
HOSTILE: dict[str, list[Any]] = {
    "int": ["600", -1, 0, 1e308, HUGE_INT, True, None],
    "str": ["", LONG, UNICODE, "\x07bell", 42, None],
    "url": [
        "javascript:alert(1)",
        "https://",
        "http://a b/",
        "https://[::1",
        "https://user:pw@evil.example/",
        UNICODE,
        7,
    ],
    "list": ["not a list", [1, 2], [None], [""], [LONG], list(range(1500))],
    "obj": ["text", [], {"a": float("nan")}, {"a": HUGE_INT}, _nested(40), {"k": LONG}],
    "bool": ["true", 1, None],
    "enum": ["bogus", "", 1, None, UNICODE],
}
# kind -> values stored straight in the row (what a reader must survive)
LEGACY: dict[str, list[Any]] = {
    "int": ["600", -1, HUGE_INT],
    "str": [42, LONG, None],
    "url": ["javascript:alert(1)", 7],
    "list": ["not a list", [1, None, {}], 5],
    "obj": ["text", [1]],
    "bool": ["yes", 2],
    "enum": ["bogus", 3],
}


@dataclass(frozen=True)
class FieldSpec:
    path: str  # dotted, as in the Management API body
    kind: str
    column: str | None = None  # the row's column holding it (None: the ``attributes`` JSON)

    @property
    def keys(self) -> list[str]:
        return self.path.split(".")


def body_for(spec: FieldSpec, value: Any) -> dict[str, Any]:
    """The Management API body that sets ``spec`` to ``value`` (nested objects for dotted paths)."""
    body: Any = value
    for key in reversed(spec.keys):
        body = {key: body}
    return dict(body)


def _f(path: str, kind: str, column: str | None = None) -> FieldSpec:
    return FieldSpec(path, kind, column)


CLIENT_FIELDS = [
    _f("name", "str", "name"),
    _f("description", "str"),
    _f("app_type", "enum", "app_type"),
    _f("callbacks", "list", "callbacks"),
    _f("allowed_logout_urls", "list", "allowed_logout_urls"),
    _f("web_origins", "list", "web_origins"),
    _f("allowed_origins", "list", "allowed_origins"),
    _f("grant_types", "list", "grant_types"),
    _f("logo_uri", "url", "logo_uri"),
    _f("client_metadata", "obj"),
    _f("jwt_configuration", "obj"),
    _f("jwt_configuration.lifetime_in_seconds", "int"),
    _f("jwt_configuration.alg", "enum"),
    _f("jwt_configuration.secret_encoded", "bool"),
    _f("jwt_configuration.scopes", "obj"),
    _f("refresh_token", "obj"),
    _f("refresh_token.token_lifetime", "int"),
    _f("refresh_token.idle_token_lifetime", "int"),
    _f("refresh_token.leeway", "int"),
    _f("refresh_token.rotation_type", "enum"),
    _f("refresh_token.expiration_type", "enum"),
    _f("refresh_token.infinite_token_lifetime", "bool"),
    _f("oidc_conformant", "bool"),
    _f("sso", "bool"),
    _f("sso_disabled", "bool"),
    _f("initiate_login_uri", "url"),
    _f("skip_non_verifiable_callback_uri_confirmation_prompt", "bool"),
    _f("organization_usage", "enum"),
    _f("organization_require_behavior", "enum"),
    _f("client_aliases", "list"),
    _f("allowed_clients", "list"),
    _f("native_social_login", "obj"),
    _f("native_social_login.google.enabled", "bool"),
    _f("mobile", "obj"),
    _f("mobile.ios.team_id", "str"),
    _f("addons", "obj"),
    _f("encryption_key", "obj"),
    _f("encryption_key.pub", "str"),
    _f("compliance_level", "enum"),
    _f("token_endpoint_auth_method", "enum"),
    _f("cross_origin_authentication", "bool"),
    _f("require_pushed_authorization_requests", "bool"),
]
RESOURCE_SERVER_FIELDS = [
    _f("name", "str", "name"),
    _f("scopes", "list", "scopes"),
    _f("scopes.0", "obj"),
    _f("token_lifetime", "int", "token_lifetime"),
    _f("token_lifetime_for_web", "int"),
    _f("signing_alg", "enum", "signing_alg"),
    _f("signing_secret", "str"),
    _f("allow_offline_access", "bool", "allow_offline_access"),
    _f("skip_consent_for_verifiable_first_party_clients", "bool", "skip_consent_for_verifiable_first_party_clients"),
    _f("token_dialect", "enum", "token_dialect"),
    _f("enforce_policies", "bool"),
    _f("subject_type_authorization", "obj", "subject_type_authorization"),
    _f("subject_type_authorization.user.policy", "enum"),
    _f("subject_type_authorization.client.policy", "enum"),
    _f("consent_policy", "enum"),
    _f("authorization_details", "list"),
    _f("proof_of_possession", "obj"),
    _f("token_encryption", "obj"),
    _f("access_token", "obj"),
    _f("authorization_policy", "obj"),
]
CLIENT_GRANT_FIELDS = [
    _f("scope", "list", "scope"),
    _f("allow_all_scopes", "bool", "allow_all_scopes"),
    _f("organization_usage", "enum"),
    _f("allow_any_organization", "bool"),
    _f("authorization_details_types", "list"),
]
CONNECTION_FIELDS = [
    _f("display_name", "str", "display_name"),
    _f("options", "obj", "options"),
    _f("options.passwordPolicy", "enum"),
    _f("options.password_complexity_options.min_length", "int"),
    _f("options.brute_force_protection", "bool"),
    _f("options.password_history.size", "int"),
    _f("is_domain_connection", "bool", "is_domain_connection"),
    _f("show_as_button", "bool"),
    _f("realms", "list"),
    _f("metadata", "obj"),
    _f("authentication", "obj"),
]
USER_FIELDS = [
    _f("email", "str", "email"),
    _f("name", "str"),
    _f("nickname", "str"),
    _f("given_name", "str"),
    _f("family_name", "str"),
    _f("picture", "url"),
    _f("phone_number", "str"),
    _f("email_verified", "bool"),
    _f("blocked", "bool"),
    _f("user_metadata", "obj", "user_metadata"),
    _f("app_metadata", "obj", "app_metadata"),
]
TENANT_FIELDS = [
    _f("friendly_name", "str"),
    _f("picture_url", "url"),
    _f("support_email", "str"),
    _f("support_url", "url"),
    _f("default_audience", "str"),
    _f("default_directory", "str"),
    _f("allowed_logout_urls", "list"),
    _f("session_lifetime", "int"),
    _f("idle_session_lifetime", "int"),
    _f("session_lifetime_in_minutes", "int"),
    _f("idle_session_lifetime_in_minutes", "int"),
    _f("enabled_locales", "list"),
    _f("default_redirection_uri", "url"),
    _f("skip_non_verifiable_callback_uri_confirmation_prompt", "bool"),
    _f("dynamic_client_registration_security_mode", "enum"),
    _f("client_id_metadata_document_supported", "bool"),
    _f("authorization_response_iss_parameter_supported", "bool"),
    _f("resource_parameter_profile", "enum"),
    _f("sessions", "obj"),
    _f("error_page", "obj"),
    _f("flags", "obj"),
    _f("flags.enable_sso", "bool"),
    _f("flags.third_party_oidc_identity", "bool"),
    _f("sandbox_version", "str"),
]
# RFC 7591 client metadata (DCR register and RFC 7592 update)
DCR_FIELDS = [
    _f("client_name", "str"),
    _f("redirect_uris", "list"),
    _f("post_logout_redirect_uris", "list"),
    _f("logo_uri", "url"),
    _f("client_uri", "url"),
    _f("policy_uri", "url"),
    _f("tos_uri", "url"),
    _f("contacts", "list"),
    _f("scope", "str"),
    _f("software_id", "str"),
    _f("software_version", "str"),
    _f("grant_types", "list"),
    _f("response_types", "list"),
    _f("application_type", "enum"),
]
# Client ID Metadata Document members
CIMD_FIELDS = [
    _f("client_name", "str"),
    _f("redirect_uris", "list"),
    _f("logo_uri", "url"),
    _f("grant_types", "list"),
    _f("response_types", "list"),
    _f("token_endpoint_auth_method", "enum"),
    _f("client_uri", "url"),
]
# dashboard forms: (page, form field) -> hostile text typed into it
FORM_VALUES = [
    "",
    " ",
    LONG,
    UNICODE,
    "-1",
    "1e308",
    "9" * 400,
    "javascript:alert(1)",
    "<script>x</script>",
    "\x07bell",
    "https://a b/",
]
