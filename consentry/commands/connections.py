"""Request bodies for ``/api/v2/connections`` (Auth0 field names; unknown properties and wrong types are refused)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from consentry.commands.types import HttpUrl, JsonObject, ShortText, json_problem

NAME_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,126}[A-Za-z0-9])?$"
DOMAIN_PATTERN = r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$"
IdTokenAlg = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
Domain = Annotated[str, StringConstraints(max_length=253, pattern=DOMAIN_PATTERN), AfterValidator(str.lower)]


class PasswordComplexity(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    min_length: int | None = Field(None, ge=1, le=128)  # Auth0's bounds


class PasswordHistory(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    enable: bool | None = None
    size: int | None = Field(None, ge=0, le=24)  # Auth0's bounds


class ConnectionOptions(BaseModel):
    """Auth0's documented ``options`` of a database connection are typed; other members (strategy-specific) are
    stored and echoed as free-form JSON. Signup, password resets and user writes read ``passwordPolicy``,
    ``password_complexity_options``, ``disable_signup`` and ``requires_username`` (``login/password_policy.py``,
    ``services/signup.py``); the others are stored only."""

    model_config = ConfigDict(extra="allow", strict=True)
    passwordPolicy: Literal["none", "low", "fair", "good", "excellent"] | None = None  # noqa: N815 - Auth0's name
    password_complexity_options: PasswordComplexity | None = None
    password_history: PasswordHistory | None = None
    brute_force_protection: bool | None = None
    requires_username: bool | None = None
    disable_signup: bool | None = None
    import_mode: bool | None = None
    enabledDatabaseCustomization: bool | None = None  # noqa: N815 - Auth0's name

    @model_validator(mode="after")
    def _storable(self) -> ConnectionOptions:
        problem = json_problem(self.model_extra or {})
        if problem:
            raise ValueError(problem)
        return self


class ConnectionFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    display_name: str | None = Field(None, max_length=128)
    options: ConnectionOptions | None = None
    enabled_clients: list[str] | None = Field(None, max_length=1000)
    is_domain_connection: bool | None = None
    show_as_button: bool | None = None
    realms: list[ShortText] | None = Field(None, max_length=10)
    metadata: dict[ShortText, ShortText] | None = Field(None, max_length=10)
    authentication: JsonObject | None = None
    connected_accounts: JsonObject | None = None


class ConnectionCreate(ConnectionFields):
    name: str = Field(..., max_length=128, pattern=NAME_PATTERN)
    strategy: str = Field(..., min_length=1, max_length=64)


class ConnectionUpdate(ConnectionFields):
    pass


class EnabledClientUpdate(BaseModel):
    """One entry of ``PATCH /connections/{id}/clients``: enable (``true``) or disable a client."""

    model_config = ConfigDict(extra="forbid", strict=True)
    client_id: str = Field(..., min_length=1, max_length=255)
    status: bool


class OidcOptions(BaseModel):
    """``options`` of an enterprise OIDC connection (``strategy: "oidc"``), Auth0's names. Endpoints come from
    ``discovery_url`` (or the ``issuer``'s ``/.well-known/openid-configuration``) unless given; explicit ones win.
    ``back_channel`` is the code flow with ``client_secret``; ``front_channel`` the code flow as a public client
    (PKCE, no secret). Other Auth0 members are stored and echoed."""

    model_config = ConfigDict(extra="allow", strict=True)
    type: Literal["back_channel", "front_channel"] = "back_channel"
    client_id: str = Field(..., min_length=1, max_length=255)
    client_secret: str | None = Field(None, min_length=1, max_length=1024)
    issuer: HttpUrl | None = None
    discovery_url: HttpUrl | None = None
    authorization_endpoint: HttpUrl | None = None
    token_endpoint: HttpUrl | None = None
    jwks_uri: HttpUrl | None = None
    scope: str = Field("openid profile email", min_length=6, max_length=1000, pattern=r"^[\x21\x23-\x5b\x5d-\x7e ]+$")
    domain_aliases: list[Domain] | None = Field(None, max_length=100)
    id_token_signed_response_algs: list[IdTokenAlg] | None = Field(None, min_length=1, max_length=10)
    token_endpoint_auth_method: Literal["client_secret_post", "client_secret_basic"] | None = None
    cross_app_access: bool | None = None  # accept ID-JAGs from this issuer (jwt-bearer grant, docs/connections.md)

    @model_validator(mode="after")
    def _usable(self) -> OidcOptions:
        if not (self.issuer or self.discovery_url):
            raise ValueError("an oidc connection needs options.issuer or options.discovery_url")
        if "openid" not in self.scope.split():
            raise ValueError("options.scope must include openid")
        if self.type == "back_channel" and not self.client_secret:
            raise ValueError("options.client_secret is required when options.type is back_channel")
        problem = json_problem(self.model_extra or {})
        if problem:
            raise ValueError(problem)
        return self
