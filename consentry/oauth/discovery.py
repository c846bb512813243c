"""Authorization server metadata (OIDC Discovery 1.0 and RFC 8414), one document for both paths."""

from __future__ import annotations

from typing import Any

from consentry.oauth.client_assertion_rules import ALGORITHMS as ASSERTION_ALGORITHMS
from consentry.settings import Settings
from consentry.tenant import flag

SECRET_METHODS = ("client_secret_basic", "client_secret_post")

SCOPES = ["openid", "profile", "email", "offline_access"]
CLAIMS = [
    "aud",
    "auth_time",
    "email",
    "email_verified",
    "exp",
    "family_name",
    "given_name",
    "iat",
    "iss",
    "name",
    "nickname",
    "picture",
    "sid",
    "sub",
    "updated_at",
]


def metadata(settings: Settings, tenant: dict[str, Any]) -> dict[str, Any]:
    url = settings.url
    doc: dict[str, Any] = {
        "issuer": settings.issuer_url,
        "authorization_endpoint": url("authorize"),
        "token_endpoint": url("oauth/token"),
        "userinfo_endpoint": url("userinfo"),
        "jwks_uri": url(".well-known/jwks.json"),
        "revocation_endpoint": url("oauth/revoke"),
        "introspection_endpoint": url("oauth/introspect"),
        "end_session_endpoint": url("oidc/logout"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post", "web_message"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "password",
            "http://auth0.com/oauth/grant-type/password-realm",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [*SECRET_METHODS, "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": [*SECRET_METHODS, "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "introspection_endpoint_auth_methods_supported": [*SECRET_METHODS, "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": tenant.get("authorization_response_iss_parameter_supported")
        is not False,
        "client_id_metadata_document_supported": bool(tenant.get("client_id_metadata_document_supported", True)),
        "resource_indicators_supported": True,
    }
    if flag(tenant, "enable_dynamic_client_registration"):
        doc["registration_endpoint"] = url("oidc/register")
    return doc
