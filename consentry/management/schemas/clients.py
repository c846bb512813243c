"""Request bodies for ``/api/v2/clients`` (Auth0 field names; unknown properties are refused)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AppType = Literal["native", "spa", "regular_web", "non_interactive"]
AuthMethod = Literal["none", "client_secret_post", "client_secret_basic"]


MAX_REFRESH_LIFETIME = 157_788_000  # five years, Auth0's bound


class RefreshTokenConfig(BaseModel):
    """Auth0's ``refresh_token`` object; every field takes effect (docs/consent.md, "Refresh tokens"). Multi-resource
    ``policies`` are not supported and refused rather than stored and ignored."""

    model_config = ConfigDict(extra="forbid", strict=True)
    rotation_type: Literal["rotating", "non-rotating"] = "rotating"
    expiration_type: Literal["expiring", "non-expiring"] = "expiring"
    leeway: int = Field(0, ge=0, le=MAX_REFRESH_LIFETIME)
    token_lifetime: int | None = Field(None, ge=1, le=MAX_REFRESH_LIFETIME)
    infinite_token_lifetime: bool | None = None
    idle_token_lifetime: int | None = Field(None, ge=1, le=MAX_REFRESH_LIFETIME)
    infinite_idle_token_lifetime: bool | None = None
    policies: list[Any] | None = Field(None, max_length=0)

    @model_validator(mode="after")
    def _rotation_expires(self) -> RefreshTokenConfig:
        if self.rotation_type == "rotating" and self.expiration_type == "non-expiring":
            raise ValueError("rotation_type 'rotating' requires expiration_type 'expiring'")
        return self


class ClientFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=140)
    app_type: AppType | None = None
    is_first_party: bool | None = None
    third_party_security_mode: Literal["strict", "permissive"] | None = None
    redirection_policy: Literal["allow_always", "open_redirect_protection"] | None = None
    token_endpoint_auth_method: AuthMethod | None = None
    callbacks: list[str] | None = Field(None, max_length=100)
    allowed_logout_urls: list[str] | None = Field(None, max_length=100)
    web_origins: list[str] | None = Field(None, max_length=100)
    allowed_origins: list[str] | None = Field(None, max_length=100)
    grant_types: list[str] | None = Field(None, max_length=20)
    logo_uri: str | None = Field(None, max_length=2000)
    client_metadata: dict[str, str] | None = Field(None, max_length=10)
    jwt_configuration: dict[str, Any] | None = None
    refresh_token: RefreshTokenConfig | None = None
    oidc_conformant: bool | None = None
    sso: bool | None = None
    sso_disabled: bool | None = None
    cross_origin_authentication: bool | None = None
    cross_origin_auth: bool | None = None
    custom_login_page_on: bool | None = None
    initiate_login_uri: str | None = Field(None, max_length=2000)
    skip_non_verifiable_callback_uri_confirmation_prompt: bool | None = None
    is_token_endpoint_ip_header_trusted: bool | None = None
    require_pushed_authorization_requests: bool | None = None
    require_proof_of_possession: bool | None = None
    organization_usage: str | None = None
    organization_require_behavior: str | None = None
    client_aliases: list[str] | None = None
    allowed_clients: list[str] | None = None
    native_social_login: dict[str, Any] | None = None
    mobile: dict[str, Any] | None = None
    addons: dict[str, Any] | None = None
    encryption_key: dict[str, Any] | None = None
    compliance_level: str | None = None

    @field_validator("logo_uri")
    @classmethod
    def _image_url(cls, value: str | None) -> str | None:
        """Rendered as an image on the consent screen: an http(s) URL, never ``javascript:`` or ``data:``."""
        if value is None or value == "":
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
            raise ValueError("must be an http(s) URL")
        return value


class ClientCreate(ClientFields):
    name: str = Field(..., min_length=1, max_length=255)
    # Importing an application from another server keeps its id; first-party apps only (third-party ids are
    # always generated, ``tpc_``-prefixed).
    client_id: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.\-]+$")


class ClientUpdate(ClientFields):
    client_secret: str | None = Field(None, min_length=32, max_length=256)


# Fields kept as columns; every other set field is stored in ``attributes`` and echoed back.
COLUMN_FIELDS = {
    "name", "app_type", "is_first_party", "third_party_security_mode", "redirection_policy",
    "token_endpoint_auth_method", "callbacks", "allowed_logout_urls", "web_origins", "allowed_origins",
    "grant_types", "logo_uri", "client_secret", "client_id",
}  # fmt: skip
