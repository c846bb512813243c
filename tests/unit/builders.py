"""Small builders for the frozen domain values the pure policy functions take (no database)."""

from __future__ import annotations

from typing import Any

from consentry.config_records import THIRD_PARTY_DEFAULT, ApiInfo, ClientGrantInfo, ClientInfo, ScopeDef

POSTS_API_SCOPES = ("read:posts", "write:posts", "delete:posts", "read:comments")


def make_api(scopes: tuple[str | ScopeDef, ...] = POSTS_API_SCOPES, **overrides: Any) -> ApiInfo:
    defs = tuple(s if isinstance(s, ScopeDef) else ScopeDef(s) for s in scopes)
    values: dict[str, Any] = {
        "id": "api_posts",
        "identifier": "https://social.example.com",
        "name": "Social API",
        "scopes": defs,
        "allow_offline_access": True,
        "skip_consent_for_verifiable_first_party_clients": False,
        "token_dialect": "access_token",
        "token_lifetime": 86400,
        "user_policy": "allow_all",
        "client_policy": "require_client_grant",
        "is_system": False,
    }
    values.update(overrides)
    return ApiInfo(**values)


def make_client(*, first_party: bool = True, **overrides: Any) -> ClientInfo:
    values: dict[str, Any] = {
        "client_id": "app_first" if first_party else "tpc_partner",
        "name": "Partner App",
        "app_type": "regular_web",
        "is_first_party": first_party,
        "third_party_security_mode": None if first_party else "strict",
        "redirection_policy": "allow_always" if first_party else "open_redirect_protection",
        "token_endpoint_auth_method": "client_secret_post",
        "secret_hash": None,
        "callbacks": ("https://partner.example.com/callback",),
        "allowed_logout_urls": (),
        "web_origins": (),
        "allowed_origins": (),
        "grant_types": ("authorization_code", "refresh_token"),
        "logo_uri": None,
        "registration_type": "admin",
        "status": "active",
        "skip_non_verifiable_callback_uri_confirmation_prompt": None,
        "id_token_lifetime": None,
    }
    values.update(overrides)
    return ClientInfo(**values)


def make_grant(
    client_id: str | None,
    scope: tuple[str, ...] = (),
    *,
    subject_type: str = "user",
    allow_all_scopes: bool = False,
    default: bool = False,
    grant_id: str | None = None,
    audience: str = "https://social.example.com",
) -> ClientGrantInfo:
    """A per-client grant, or (``default=True``, ``client_id=None``) the default for third-party apps."""
    return ClientGrantInfo(
        id=grant_id or f"cgr_{'default' if default else client_id}_{subject_type}",
        client_id=client_id,
        default_for=THIRD_PARTY_DEFAULT if default else None,
        audience=audience,
        scope=scope,
        allow_all_scopes=allow_all_scopes,
        subject_type=subject_type,
    )
