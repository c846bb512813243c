"""Request body for ``PATCH /api/v2/tenants/settings``: known keys are typed; flags must be booleans."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from consentry.commands.types import HttpsUrl, HttpUrl, JsonObject
from consentry.consent import durations
from consentry.oauth.redirect_uri import callback_problem

FlagName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
Locale = Annotated[str, StringConstraints(max_length=16, pattern=r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")]
Hours = Annotated[float, Field(gt=0, le=8760, allow_inf_nan=False)]  # Auth0: at most a year
Minutes = Annotated[int, Field(ge=1, le=525600)]


def _visible(value: str) -> str:
    """Shown on every page (the tenant's name): no control, format or bidi characters."""
    if not all(c.isprintable() for c in value):
        raise ValueError("must not contain control, format or invisible characters")
    return value


def _logout_url(value: str) -> str:
    """A ``returnTo`` target of ``/v2/logout`` without ``client_id``: the rules of a client's logout URLs."""
    problem = callback_problem(value, native=True)
    if problem:
        raise ValueError(problem)
    return value


Duration = Annotated[int, AfterValidator(durations.checked)]  # seconds; 0: until revoked


def _choices(value: list[int]) -> list[int]:
    problem = durations.choices_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class ConsentDurationDefaults(BaseModel):
    """The consent screen's default duration per kind of application (``consent.durations``)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    agent: Duration | None = None
    spa: Duration | None = None
    native: Duration | None = None
    regular_web: Duration | None = None
    non_interactive: Duration | None = None
    default: Duration | None = None


VisibleText = Annotated[str, StringConstraints(max_length=255), AfterValidator(_visible)]
LogoutUrl = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_logout_url)]
Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^(?:[^\s@]+@[^\s@]+)?$")]


class TenantSettingsUpdate(BaseModel):
    """Extra keys are checked by the service against the defaults (``consentry.tenant``); others are refused."""

    model_config = ConfigDict(extra="allow", strict=True)

    friendly_name: VisibleText | None = None
    picture_url: HttpUrl | None = None
    support_email: Email | None = None
    support_url: HttpUrl | None = None
    default_audience: str | None = Field(None, max_length=600)
    default_directory: str | None = Field(None, max_length=128)
    allowed_logout_urls: list[LogoutUrl] | None = Field(None, max_length=100)
    session_lifetime: Hours | None = None
    idle_session_lifetime: Hours | None = None
    session_lifetime_in_minutes: Minutes | None = None
    idle_session_lifetime_in_minutes: Minutes | None = None
    enabled_locales: list[Locale] | None = Field(None, max_length=100)
    default_redirection_uri: HttpsUrl | None = None
    skip_non_verifiable_callback_uri_confirmation_prompt: bool | None = None
    dynamic_client_registration_security_mode: Literal["strict", "permissive"] | None = None
    # Consentry: register-on-consent DCR (``services.dcr_pending``); unset, the server's settings apply.
    dcr_require_approval: bool | None = None
    dcr_pending_max: int | None = Field(None, ge=1, le=10_000_000)
    dcr_pending_hours: float | None = Field(None, gt=0, le=8760, allow_inf_nan=False)
    client_id_metadata_document_supported: bool | None = None
    client_id_metadata_document_dynamic_registration_supported: bool | None = None
    authorization_response_iss_parameter_supported: bool | None = None
    pushed_authorization_requests_supported: bool | None = None
    resource_parameter_profile: Literal["audience", "compatibility"] | None = None
    sessions: JsonObject | None = None
    oidc_logout: JsonObject | None = None
    error_page: JsonObject | None = None
    change_password: JsonObject | None = None
    guardian_mfa_page: JsonObject | None = None
    device_flow: JsonObject | None = None
    sandbox_version: str | None = Field(None, max_length=16, pattern=r"^[0-9A-Za-z.\-]*$")
    flags: dict[FlagName, bool] | None = Field(None, max_length=100)
    # Consentry: the consent screen's duration choices where an API sets none, and the defaults per kind of app.
    consent_durations: Annotated[list[Duration], AfterValidator(_choices)] | None = None
    default_consent_durations: ConsentDurationDefaults | None = None
