"""Request bodies for ``/api/v2/clients`` (Auth0 field names; unknown properties are refused)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from consentry.commands.types import HttpsUrl, HttpUrl, Identifier, JsonObject, Seconds, ShortText

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


class JwtConfiguration(BaseModel):
    """Auth0's ``jwt_configuration``: the ID token's lifetime and signature. ID tokens are signed with RS256 only
    (the signing keys are RSA), so another ``alg`` would be stored and not honoured: it is refused."""

    model_config = ConfigDict(extra="forbid", strict=True)
    alg: Literal["RS256"] | None = None
    lifetime_in_seconds: Seconds | None = None
    secret_encoded: bool | None = None
    scopes: JsonObject | None = None


class AndroidApp(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    app_package_name: ShortText | None = None
    sha256_cert_fingerprints: list[Annotated[str, StringConstraints(max_length=128)]] | None = Field(
        None, max_length=20
    )


class IosApp(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    team_id: ShortText | None = None
    app_bundle_identifier: ShortText | None = None


class Mobile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    android: AndroidApp | None = None
    ios: IosApp | None = None


class Enabled(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    enabled: bool | None = None


class NativeSocialLogin(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    apple: Enabled | None = None
    facebook: Enabled | None = None
    google: Enabled | None = None


class EncryptionKey(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    pub: str | None = Field(None, max_length=10_000)
    cert: str | None = Field(None, max_length=10_000)
    subject: str | None = Field(None, max_length=1000)


AddonName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=255)]
MetadataValue = Annotated[str, StringConstraints(max_length=255)]
UrlText = Annotated[str, StringConstraints(max_length=2000)]  # checked by oauth.redirect_uri


class CredentialRef(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str = Field(..., min_length=1, max_length=64)


class PrivateKeyJwtMethod(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    credentials: list[CredentialRef] = Field(..., min_length=1, max_length=2)


class ClientAuthenticationMethods(BaseModel):
    """Auth0's ``client_authentication_methods``: ``private_key_jwt`` with the ids of the application's client
    credentials (``/api/v2/clients/{id}/credentials``). Exclusive with ``token_endpoint_auth_method``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    private_key_jwt: PrivateKeyJwtMethod | None = None


class ClientFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=140)
    app_type: AppType | None = None
    is_first_party: bool | None = None
    third_party_security_mode: Literal["strict", "permissive"] | None = None
    redirection_policy: Literal["allow_always", "open_redirect_protection"] | None = None
    token_endpoint_auth_method: AuthMethod | None = None
    client_authentication_methods: ClientAuthenticationMethods | None = None
    callbacks: list[UrlText] | None = Field(None, max_length=100)
    allowed_logout_urls: list[UrlText] | None = Field(None, max_length=100)
    web_origins: list[UrlText] | None = Field(None, max_length=100)
    allowed_origins: list[UrlText] | None = Field(None, max_length=100)
    grant_types: list[ShortText] | None = Field(None, max_length=20)
    logo_uri: HttpUrl | None = None  # an <img src> on the consent screen: never javascript: or data:
    client_metadata: dict[MetadataKey, MetadataValue] | None = Field(None, max_length=10)
    jwt_configuration: JwtConfiguration | None = None
    refresh_token: RefreshTokenConfig | None = None
    oidc_conformant: bool | None = None
    sso: bool | None = None
    sso_disabled: bool | None = None
    cross_origin_authentication: bool | None = None
    cross_origin_auth: bool | None = None
    custom_login_page_on: bool | None = None
    initiate_login_uri: HttpsUrl | None = None
    skip_non_verifiable_callback_uri_confirmation_prompt: bool | None = None
    is_token_endpoint_ip_header_trusted: bool | None = None
    require_pushed_authorization_requests: bool | None = None
    require_proof_of_possession: bool | None = None
    organization_usage: Literal["deny", "allow", "require"] | None = None
    organization_require_behavior: Literal["no_prompt", "pre_login_prompt", "post_login_prompt"] | None = None
    client_aliases: list[ShortText] | None = Field(None, max_length=100)
    allowed_clients: list[Identifier] | None = Field(None, max_length=100)
    native_social_login: NativeSocialLogin | None = None
    mobile: Mobile | None = None
    addons: dict[AddonName, JsonObject] | None = Field(None, max_length=50)
    encryption_key: EncryptionKey | None = None
    is_agent: bool | None = None  # Consentry: an AI agent acts through it (bounded consent, optional scopes unticked)
    compliance_level: (
        Literal["none", "fapi1_adv_pkj_par", "fapi1_adv_mtls_par", "fapi2_sp_pkj_mtls", "fapi2_sp_mtls_mtls"] | None
    ) = None
    # Read-only fields of the client object: accepted and ignored, so that a tool writing back what it read (the
    # Auth0 Deploy CLI's import of its export) is not refused. They are never stored (``READ_ONLY_FIELDS``).
    registration_type: Literal["admin", "dcr", "cimd"] | None = None
    created_at: str | None = Field(None, max_length=40)


class ClientCreate(ClientFields):
    name: str = Field(..., min_length=1, max_length=255)
    # Importing an application from another server keeps its id; first-party apps only (third-party ids are
    # always generated, ``tpc_``-prefixed).
    client_id: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.\-]+$")


class ClientUpdate(ClientFields):
    client_secret: str | None = Field(None, min_length=32, max_length=256)


READ_ONLY_FIELDS = {"registration_type", "created_at"}
# Fields kept as columns; every other set field is stored in ``attributes`` and echoed back.
COLUMN_FIELDS = {
    "name",
    "app_type",
    "is_first_party",
    "third_party_security_mode",
    "redirection_policy",
    "token_endpoint_auth_method",
    "callbacks",
    "allowed_logout_urls",
    "web_origins",
    "allowed_origins",
    "grant_types",
    "logo_uri",
    "client_secret",
    "client_id",
}
