"""Request bodies for ``/api/v2/resource-servers``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from consentry.commands.types import JsonObject
from consentry.consent import durations

Policy = Literal["allow_all", "require_client_grant", "deny_all"]
Dialect = Literal["access_token", "access_token_authz", "rfc9068_profile", "rfc9068_profile_authz"]
Duration = Annotated[int, AfterValidator(durations.checked)]  # seconds; 0: until revoked


class ScopeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    value: str = Field(..., min_length=1, max_length=280, pattern=r"^[\x21\x23-\x5b\x5d-\x7e]+$")
    description: str | None = Field(None, max_length=500)
    optional: bool | None = None  # Consentry: the user may untick it on the consent screen

    @field_validator("description")
    @classmethod
    def _visible(cls, value: str | None) -> str | None:
        """Shown on the consent screen: control, format and bidi characters could make it say something else."""
        if value and not all(c.isprintable() for c in value):
            raise ValueError("must not contain control, format or invisible characters")
        return value


class UserPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    policy: Policy = "allow_all"


class ClientPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    policy: Literal["require_client_grant", "deny_all"] = "require_client_grant"


class SubjectTypeAuthorization(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    user: UserPolicy | None = None
    client: ClientPolicy | None = None


class ProofOfPossession(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    mechanism: Literal["mtls", "dpop"]
    required: bool


class AuthorizationDetail(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    type: str = Field(..., min_length=1, max_length=255)


SigningAlg = Literal["RS256", "ES256"]  # ES256: Consentry's opt-in for access tokens (docs/api.md)


class ResourceServerFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None = Field(None, min_length=1, max_length=255)
    scopes: list[ScopeIn] | None = Field(None, max_length=500)
    signing_alg: SigningAlg | None = None
    signing_secret: str | None = Field(None, min_length=16, max_length=512)  # Auth0: at least 16 characters
    allow_offline_access: bool | None = None
    skip_consent_for_verifiable_first_party_clients: bool | None = None
    token_lifetime: int | None = Field(None, ge=60, le=2592000)
    token_lifetime_for_web: int | None = Field(None, ge=60, le=2592000)
    token_dialect: Dialect | None = None
    enforce_policies: bool | None = None
    subject_type_authorization: SubjectTypeAuthorization | None = None
    consent_policy: Literal["transactional-authorization-with-mfa"] | None = None
    authorization_details: list[AuthorizationDetail] | None = Field(None, max_length=100)
    proof_of_possession: ProofOfPossession | None = None
    token_encryption: JsonObject | None = None
    allow_online_access: bool | None = None
    allow_online_access_with_ephemeral_sessions: bool | None = None
    require_consent_non_repudiation: bool | None = None
    authorization_policy: JsonObject | None = None
    access_token: JsonObject | None = None
    consent_durations: list[Duration] | None = None  # Consentry: what the consent screen offers (docs/consent.md)
    default_consent_duration: Duration | None = None  # Consentry: the one ticked by default

    @field_validator("consent_durations")
    @classmethod
    def _durations(cls, value: list[int] | None) -> list[int] | None:
        problem = durations.choices_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _default_offered(self) -> ResourceServerFields:
        offered, default = self.consent_durations, self.default_consent_duration
        if offered is not None and default is not None and default not in offered:
            raise ValueError("default_consent_duration must be one of consent_durations")
        return self

    @model_validator(mode="after")
    def _web_within_lifetime(self) -> ResourceServerFields:
        """Auth0: the implicit/hybrid lifetime cannot exceed the token endpoint's."""
        web, full = self.token_lifetime_for_web, self.token_lifetime
        if web is not None and full is not None and web > full:
            raise ValueError("token_lifetime_for_web must not exceed token_lifetime")
        return self


class ResourceServerCreate(ResourceServerFields):
    identifier: str = Field(..., min_length=1, max_length=600)


class ResourceServerUpdate(ResourceServerFields):
    pass
