"""Request body for ``PATCH /api/v2/tenants/settings``: known keys are typed; flags must be booleans."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

FlagName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
Url = Annotated[str, StringConstraints(max_length=2000)]


class TenantSettingsUpdate(BaseModel):
    """Extra keys are checked by the service against the defaults (``consentry.tenant``); others are refused."""

    model_config = ConfigDict(extra="allow", strict=True)

    friendly_name: str | None = Field(None, max_length=255)
    picture_url: Url | None = None
    support_email: str | None = Field(None, max_length=320)
    support_url: Url | None = None
    default_audience: str | None = Field(None, max_length=600)
    default_directory: str | None = Field(None, max_length=128)
    allowed_logout_urls: list[Url] | None = Field(None, max_length=100)
    session_lifetime: float | None = Field(None, gt=0, le=8760)
    idle_session_lifetime: float | None = Field(None, gt=0, le=8760)
    session_lifetime_in_minutes: int | None = Field(None, ge=1, le=525600)
    idle_session_lifetime_in_minutes: int | None = Field(None, ge=1, le=525600)
    enabled_locales: list[Annotated[str, StringConstraints(max_length=16)]] | None = Field(None, max_length=100)
    default_redirection_uri: Url | None = None
    skip_non_verifiable_callback_uri_confirmation_prompt: bool | None = None
    dynamic_client_registration_security_mode: Literal["strict", "permissive"] | None = None
    client_id_metadata_document_supported: bool | None = None
    client_id_metadata_document_dynamic_registration_supported: bool | None = None
    authorization_response_iss_parameter_supported: bool | None = None
    pushed_authorization_requests_supported: bool | None = None
    resource_parameter_profile: Literal["audience", "compatibility"] | None = None
    sessions: dict[str, Any] | None = None
    oidc_logout: dict[str, Any] | None = None
    error_page: dict[str, Any] | None = None
    change_password: dict[str, Any] | None = None
    guardian_mfa_page: dict[str, Any] | None = None
    device_flow: dict[str, Any] | None = None
    sandbox_version: str | None = Field(None, max_length=16)
    flags: dict[FlagName, bool] | None = Field(None, max_length=100)
