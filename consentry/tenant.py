"""Tenant settings: Auth0's defaults, the built-in Management API and the first connection."""

from __future__ import annotations

import copy
from typing import Any

DEFAULT_DIRECTORY = "Username-Password-Authentication"

MANAGEMENT_SCOPES: tuple[str, ...] = (
    "read:clients",
    "create:clients",
    "update:clients",
    "delete:clients",
    "read:client_keys",
    "read:users",
    "create:users",
    "update:users",
    "delete:users",
    "read:grants",
    "delete:grants",
    "read:client_grants",
    "create:client_grants",
    "update:client_grants",
    "delete:client_grants",
    "read:resource_servers",
    "create:resource_servers",
    "update:resource_servers",
    "delete:resource_servers",
    "read:connections",
    "create:connections",
    "update:connections",
    "delete:connections",
    "read:tenant_settings",
    "update:tenant_settings",
    "read:signing_keys",
    "create:signing_keys",
    "update:signing_keys",
    "read:logs",
    "read:webhooks",
    "create:webhooks",
    "update:webhooks",
    "delete:webhooks",
    "create:user_tickets",
    "read:client_credentials",
    "create:client_credentials",
    "update:client_credentials",
    "delete:client_credentials",
    "read:sessions",
    "delete:sessions",
    "read:refresh_tokens",
    "delete:refresh_tokens",
    "read:roles",
    "create:roles",
    "update:roles",
    "delete:roles",
    "read:role_members",
    "create:role_members",
    "delete:role_members",
    "read:actions",
)

DEFAULT_FLAGS: dict[str, bool] = {
    "enable_client_connections": True,
    "enable_dynamic_client_registration": False,
    "use_scope_descriptions_for_consent": False,
    "third_party_oidc_identity": False,
    "revoke_refresh_token_grant": False,
    "enable_sso": True,
}

DEFAULT_SETTINGS: dict[str, Any] = {
    "friendly_name": "Consentry",
    "picture_url": "",
    "support_email": "",
    "support_url": "",
    "default_audience": "",
    "default_directory": DEFAULT_DIRECTORY,
    "allowed_logout_urls": [],
    "session_lifetime": 168,
    "idle_session_lifetime": 72,
    "enabled_locales": ["en"],
    "default_redirection_uri": "",
    "skip_non_verifiable_callback_uri_confirmation_prompt": False,
    "dynamic_client_registration_security_mode": "strict",
    "client_id_metadata_document_supported": True,
    "authorization_response_iss_parameter_supported": True,
    "flags": DEFAULT_FLAGS,
}


def _usable(value: Any, default: Any) -> bool:
    """Whether a stored value has the JSON type of its default (any number for a number)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def merged_settings(stored: Any) -> dict[str, Any]:
    """Stored settings over the defaults; ``flags`` merged one level deep (as Auth0's PATCH does).

    Writes are validated (``commands.tenant_settings``); a stored value of the wrong type (a row
    written before that, or by hand) is left out, so its default applies instead of a 500 in every flow.
    """
    result = copy.deepcopy(DEFAULT_SETTINGS)
    for key, value in (stored if isinstance(stored, dict) else {}).items():
        if key == "flags":
            result["flags"].update(
                {
                    k: v
                    for k, v in (value if isinstance(value, dict) else {}).items()
                    if isinstance(k, str) and isinstance(v, bool)
                }
            )
        elif key not in DEFAULT_SETTINGS or _usable(value, DEFAULT_SETTINGS[key]):
            result[key] = value
    if not all(isinstance(u, str) for u in result["allowed_logout_urls"]):
        result["allowed_logout_urls"] = [u for u in result["allowed_logout_urls"] if isinstance(u, str)]
    return result


def flag(settings: dict[str, Any], name: str) -> bool:
    return bool(settings.get("flags", {}).get(name, DEFAULT_FLAGS.get(name, False)))
