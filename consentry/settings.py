"""Typed settings, read from ``CONSENTRY_*`` environment variables and an optional ``.env`` file.

Every endpoint URL is derived from the issuer, which is one exact string with a trailing slash
(Auth0 style) used byte-for-byte in discovery, the ``iss`` response parameter and every token.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CONSENTRY_"

RedirectKind = Literal["https", "http", "private-use"]
REDIRECT_KINDS: tuple[RedirectKind, ...] = ("https", "http", "private-use")


class SettingsError(Exception):
    """Raised with a one-line, human readable reason when the configuration is unusable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8080, ge=1, le=65535, description="TCP port of the HTTP server.")
    issuer: str = Field(
        "",
        description="Exact issuer URL with a trailing slash. Defaults to http://{host}:{port}/ (https:// with TLS).",
    )
    database_url: str = Field(
        "sqlite+aiosqlite:///./data/consentry.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db.",
    )
    database_pool_size: int = Field(
        20,
        ge=1,
        le=200,
        description="PostgreSQL connections each process opens on demand and keeps; requests beyond it wait for "
        "one. Size it so workers x (this + 6) fits PostgreSQL's max_connections. SQLite uses at most 5.",
    )
    workers: int = Field(0, ge=0, le=64, description="Server processes; 0 means one per CPU core.")
    data_dir: Path = Field(Path("./data"), description="Folder for the SQLite database and the key-encryption key.")
    key_encryption_key: str = Field(
        "",
        description="Secret used to encrypt signing keys at rest. Empty: a random key is kept in {data_dir}/kek.",
    )
    env: Literal["development", "production"] = Field("development", description="production refuses unsafe setups.")
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Server log level.")
    tenant_name: str = Field("consentry", description="Tenant name shown in client objects and pages.")
    access_token_lifetime: int = Field(86400, ge=60, description="Default API access token lifetime (seconds).")
    third_party_access_token_lifetime: int = Field(
        3600, ge=60, description="Upper bound on access token lifetimes for third-party apps (seconds)."
    )
    id_token_lifetime: int = Field(36000, ge=60, description="Default ID token lifetime (seconds).")
    authorization_code_lifetime: int = Field(60, ge=10, le=600, description="Authorization code lifetime (seconds).")
    refresh_token_lifetime: int = Field(2592000, ge=300, description="Absolute refresh token lifetime (seconds).")
    interaction_lifetime: int = Field(900, ge=60, description="How long a pending login/consent may take (seconds).")
    session_lifetime: int = Field(7 * 24 * 3600, ge=300, description="SSO session absolute lifetime (seconds).")
    login_max_failures: int = Field(10, ge=1, description="Failed logins per user and IP within the window before 429.")
    login_failure_window: int = Field(900, ge=60, description="Window for counting failed logins (seconds).")
    dcr_rate_limit_per_minute: int = Field(30, ge=1, description="Dynamic registrations per source IP per minute.")
    dcr_require_initial_access_token: bool = Field(
        False, description="Dynamic registration needs a Bearer initial access token (consentry dcr create-token)."
    )
    dcr_allowed_redirect_schemes: list[RedirectKind] = Field(
        default_factory=lambda: list(REDIRECT_KINDS),
        description="Redirect URI kinds DCR accepts: https, http (loopback, native apps only), private-use (native).",
    )
    dcr_allowed_redirect_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts DCR https redirect URIs may use ('example.com' or '*.example.com'); empty means any.",
    )
    dcr_max_clients_per_ip: int = Field(0, ge=0, description="Registered DCR clients per source IP; 0 means no limit.")
    dcr_require_approval: bool = Field(
        False,
        description="New DCR clients are 'pending' (no authorization, no tokens) until an admin approves them; "
        "the tenant setting of the same name overrides it.",
    )
    dcr_hold_until_consent: bool = Field(
        True,
        description="A DCR client is held as a pending registration (no stored client) until a user first approves "
        "it; off: every registration is stored at once.",
    )
    dcr_pending_max: int = Field(
        50_000, ge=1, description="Hard cap on live pending registrations; the next one is refused (429)."
    )
    dcr_pending_hours: float = Field(
        24.0, gt=0, le=8760, description="Hours a pending registration waits for its first consent before it goes."
    )
    dcr_prune_never_used_hours: int = Field(
        24, ge=1, description="Remove DCR clients that never completed a flow this many hours after registration."
    )
    dcr_prune_idle_days: int = Field(
        30, ge=1, description="Remove DCR clients unused for this many days with no live grant or refresh token."
    )
    dcr_prune_interval_seconds: int = Field(
        3600, ge=0, description="How often the server prunes unused DCR clients (seconds); 0 turns it off."
    )
    cache_ttl: float = Field(
        2.0,
        ge=0,
        le=60,
        description="Longest a process keeps cached clients, APIs and grants; "
        "requests follow writes at once (shared change counter), so it bounds background work.",
    )
    expose_debug: bool = Field(
        False, description="Include debug detail in OAuth error descriptions (never in production)."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Proxy IPs whose X-Forwarded-For / X-Forwarded-Proto are trusted."
    )
    cimd_allow_private_addresses: bool = Field(
        False, description="Fetch Client ID Metadata Documents from loopback/private hosts (local development only)."
    )
    cimd_fetch_timeout: float = Field(3.0, gt=0, le=30, description="Total time allowed to fetch one CIMD (seconds).")
    cimd_max_bytes: int = Field(5120, ge=256, le=1024 * 1024, description="Largest accepted CIMD body (bytes).")
    cimd_cache_min_seconds: int = Field(60, ge=0, description="Shortest time a fetched CIMD is reused (seconds).")
    cimd_cache_max_seconds: int = Field(3600, ge=0, description="Longest time a fetched CIMD is reused (seconds).")
    cimd_allowed_domains: list[str] = Field(
        default_factory=list, description="If set, CIMD client_id hosts must be one of these domains or a subdomain."
    )
    cimd_denied_domains: list[str] = Field(
        default_factory=list, description="CIMD client_id hosts refused: these domains and their subdomains."
    )
    cimd_ca_file: Path | None = Field(
        None, description="Extra CA bundle (PEM) trusted when fetching CIMDs, e.g. a private or test CA."
    )
    tls_cert_file: Path | None = Field(
        None,
        description="PEM certificate (chain) to serve https directly; `consentry tls dev-cert` makes one. "
        "Needs tls_key_file; the default issuer becomes https://{host}:{port}/ and cookies are Secure.",
    )
    tls_key_file: Path | None = Field(None, description="PEM private key of tls_cert_file.")
    smtp_host: str = Field(
        "",
        description="SMTP server for the emails Consentry sends (email verification, password reset). Empty: each "
        "message is written to {data_dir}/outbox/ as an .eml file and the log names the file.",
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="TCP port of the SMTP server.")
    smtp_username: str = Field("", description="SMTP login; empty sends without authentication.")
    smtp_password: str = Field("", description="SMTP password of smtp_username (never logged).")
    smtp_from: str = Field("", description="From address of the emails. Empty: no-reply@{the issuer's host}.")
    smtp_starttls: bool = Field(
        True, description="Upgrade the SMTP connection with STARTTLS before authenticating and sending."
    )
    smtp_timeout: float = Field(10.0, gt=0, le=120, description="Seconds one SMTP conversation may take.")

    id_jag_rate_limit_per_minute: int = Field(
        600, ge=1, description="ID-JAG exchanges (jwt-bearer grant) per requesting application per minute."
    )
    connections_allow_private_addresses: bool = Field(
        False,
        description="Reach enterprise OIDC identity providers on loopback/private hosts, over http too "
        "(local development and tests only).",
    )
    connections_fetch_timeout: float = Field(
        5.0, gt=0, le=30, description="Total time allowed for one request to an upstream identity provider (seconds)."
    )
    connections_metadata_ttl: int = Field(
        600,
        ge=0,
        le=86400,
        description="How long an upstream provider's discovery document and JWKS are reused "
        "(seconds); an unknown key id fetches the JWKS again.",
    )
    connections_ca_file: Path | None = Field(
        None, description="Extra CA bundle (PEM) trusted when calling upstream identity providers (e.g. a test CA)."
    )
    webhooks_enabled: bool = Field(
        True, description="Deliver queued webhook events from this server process (any number of processes may)."
    )
    webhooks_allow_http_loopback: bool = Field(
        False,
        description="Accept webhook URLs on http://127.0.0.1, http://[::1] and http://localhost "
        "(local development and tests only); otherwise https is required.",
    )
    webhooks_timeout: float = Field(5.0, gt=0, le=30, description="Total time allowed for one delivery (seconds).")
    webhooks_poll_interval: float = Field(
        1.0, gt=0, le=60, description="How often each process looks for due webhook deliveries (seconds)."
    )
    webhooks_retry_base: float = Field(
        5.0, gt=0, le=3600, description="Wait before the first retry of a failed delivery; doubles each time (seconds)."
    )
    webhooks_retry_max: float = Field(3600.0, gt=0, le=86400, description="Longest wait between retries (seconds).")
    webhooks_max_attempts: int = Field(
        12, ge=1, le=100, description="Attempts per delivery before it is marked failed."
    )
    webhooks_expiry_sweep_interval: float = Field(
        60.0,
        ge=0,
        le=86400,
        description="How often expired user grants are looked for to send grant.expired (seconds); 0 turns the "
        "sweep off (expiry found by a refresh or a renewed consent is still announced).",
    )

    @field_validator("issuer")
    @classmethod
    def _issuer_shape(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://auth.example.com/")
        if parts.query or parts.fragment:
            raise ValueError("must not contain a query or fragment")
        if not value.endswith("/"):
            raise ValueError(f"must end with a trailing slash, e.g. {value}/")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_shape(cls, value: str) -> str:
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("CONSENTRY_TLS_CERT_FILE and CONSENTRY_TLS_KEY_FILE must be set together")
        if self.tls_enabled and self.issuer and not self.issuer.startswith("https://"):
            raise ValueError("issuer must be https:// when TLS is served (CONSENTRY_TLS_CERT_FILE)")
        return self

    @model_validator(mode="after")
    def _production_checks(self) -> Settings:
        if self.env == "production":
            if not self.issuer.startswith("https://"):
                raise ValueError("issuer must be https:// when env=production")
            if self.expose_debug:
                raise ValueError("expose_debug must be off when env=production")
            if self.cimd_allow_private_addresses:
                raise ValueError("cimd_allow_private_addresses must be off when env=production")
            if self.connections_allow_private_addresses:
                raise ValueError("connections_allow_private_addresses must be off when env=production")
            if self.webhooks_allow_http_loopback:
                raise ValueError("webhooks_allow_http_loopback must be off when env=production")
        return self

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert_file is not None

    @cached_property
    def issuer_url(self) -> str:
        return self.issuer or f"{'https' if self.tls_enabled else 'http'}://{self.host}:{self.port}/"

    @cached_property
    def management_audience(self) -> str:
        return f"{self.issuer_url}api/v2/"

    @cached_property
    def userinfo_audience(self) -> str:
        return f"{self.issuer_url}userinfo"

    @property
    def secure_cookies(self) -> bool:
        return self.issuer_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def url(self, path: str) -> str:
        """An endpoint URL under the issuer (``path`` has no leading slash)."""
        return f"{self.issuer_url}{path}"

    def worker_count(self) -> int:
        return self.workers or (os.cpu_count() or 1)


def _unknown_variables() -> list[str]:
    known = {f"{ENV_PREFIX}{name}".upper() for name in Settings.model_fields}
    return sorted(k for k in os.environ if k.upper().startswith(ENV_PREFIX) and k.upper() not in known)


def load_settings(**overrides: object) -> Settings:
    """Load settings from the environment, turning any problem into one clear line."""
    unknown = _unknown_variables()
    if unknown:
        raise SettingsError(f"unknown setting {unknown[0]} (see docs/configuration.md for the list)")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "settings"
        name = f"{ENV_PREFIX}{field.upper()}" if field in Settings.model_fields else field
        raise SettingsError(f"invalid setting {name}: {err['msg']}") from None
