"""Frozen views of stored objects that the policy functions and the flows work with.

Policy code never sees ORM rows: it gets these immutable values, so it stays pure and cacheable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from consentry.consent import durations
from consentry.storage import models
from consentry.tokens.keys import ALGORITHMS as SIGNING_ALGS

THIRD_PARTY_DEFAULT = "third_party_clients"


@dataclass(frozen=True)
class ScopeDef:
    value: str
    description: str = ""
    optional: bool = False


MAX_ID_TOKEN_LIFETIME = 2_592_000  # 30 days, the bound on write (commands.types)
MAX_REFRESH_LIFETIME = 157_788_000  # five years, the bound on write (commands.clients)


def stored_seconds(value: Any, maximum: int) -> int | None:
    """A stored lifetime the flows can use: an integer in 1..``maximum``, else None (the server default applies).

    Values are validated on write; this guards rows written before that, or by hand, so that a bad value
    makes the default apply for that app instead of a 500 or a token born expired or never expiring.
    """
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= maximum:
        return value
    return None


def strings(value: Any) -> tuple[str, ...]:
    """The string members of a stored list (a legacy row may hold anything)."""
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list | tuple) else ()


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


NEVER = 253402300799.0  # 9999-12-31T23:59:59Z: the ``expires_at`` of a token that does not expire


@dataclass(frozen=True)
class RefreshPolicy:
    """A client's ``refresh_token`` settings, as Auth0 defines them: how long a rotation family lives, how long
    it may sit unused, and for how long (``leeway``) a rotated token may be exchanged again without counting
    as reuse (a retry after a lost response)."""

    rotation_type: str = "rotating"
    expiration_type: str = "expiring"
    leeway: int = 0
    token_lifetime: int | None = None  # None: the server's refresh_token_lifetime
    infinite_token_lifetime: bool = False
    idle_token_lifetime: int | None = None
    infinite_idle_token_lifetime: bool = True

    def absolute_lifetime(self, default: int) -> int | None:
        """Seconds from the first token of a family to its end (None: never)."""
        if self.expiration_type == "non-expiring" or self.infinite_token_lifetime:
            return None
        return self.token_lifetime or default

    def idle_lifetime(self) -> int | None:
        """Seconds a token may go unused before it expires (None: no idle limit)."""
        if self.expiration_type == "non-expiring" or self.infinite_idle_token_lifetime:
            return None
        return self.idle_token_lifetime

    @staticmethod
    def from_settings(value: dict[str, Any]) -> RefreshPolicy:
        def number(key: str) -> int | None:
            return stored_seconds(value.get(key), MAX_REFRESH_LIFETIME)

        rotation, expiration = value.get("rotation_type"), value.get("expiration_type")
        return RefreshPolicy(
            rotation_type=rotation if rotation in ("rotating", "non-rotating") else "rotating",
            expiration_type=expiration if expiration in ("expiring", "non-expiring") else "expiring",
            leeway=number("leeway") or 0,
            token_lifetime=number("token_lifetime"),
            infinite_token_lifetime=value.get("infinite_token_lifetime") is True,
            idle_token_lifetime=number("idle_token_lifetime"),
            infinite_idle_token_lifetime=value.get("infinite_idle_token_lifetime") is not False,
        )


@dataclass(frozen=True)
class ClientInfo:
    client_id: str
    name: str
    app_type: str | None
    is_first_party: bool
    third_party_security_mode: str | None
    redirection_policy: str
    token_endpoint_auth_method: str
    secret_hash: str | None
    callbacks: tuple[str, ...]
    allowed_logout_urls: tuple[str, ...]
    web_origins: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    grant_types: tuple[str, ...]
    logo_uri: str | None
    registration_type: str
    status: str
    skip_non_verifiable_callback_uri_confirmation_prompt: bool | None
    id_token_lifetime: int | None
    refresh: RefreshPolicy = RefreshPolicy()
    metadata_url_host: str | None = None
    marked_agent: bool = False  # Consentry's ``is_agent``: the admin says an AI agent acts through this app
    # ``client_authentication_methods.private_key_jwt.credentials``: the credential ids assertions may be signed with
    assertion_credentials: tuple[str, ...] = ()
    registration_pending: bool = False  # registered dynamically, not yet stored: no user has approved it (DCR)

    @property
    def is_agent(self) -> bool:
        """An AI agent: marked so by the admin, or registered by itself (DCR or CIMD)."""
        return self.marked_agent or self.registration_type in ("dcr", "cimd")

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def is_third_party(self) -> bool:
        return not self.is_first_party

    @property
    def rotates_refresh_tokens(self) -> bool:
        """Public and third-party apps always rotate (RFC 9700 §4.14.2); others as configured."""
        return self.is_public or self.is_third_party or self.refresh.rotation_type == "rotating"

    @staticmethod
    def from_row(row: models.Client) -> ClientInfo:
        attrs = mapping(row.attributes)
        rt = mapping(attrs.get("refresh_token"))
        jwt_cfg = mapping(attrs.get("jwt_configuration"))
        skip = attrs.get("skip_non_verifiable_callback_uri_confirmation_prompt")
        host = attrs.get("metadata_url_host")
        return ClientInfo(
            client_id=row.client_id,
            name=row.name,
            app_type=row.app_type,
            is_first_party=row.is_first_party,
            third_party_security_mode=row.third_party_security_mode,
            redirection_policy=row.redirection_policy or "allow_always",
            token_endpoint_auth_method=row.token_endpoint_auth_method,
            secret_hash=row.secret_hash,
            callbacks=strings(row.callbacks),
            allowed_logout_urls=strings(row.allowed_logout_urls),
            web_origins=strings(row.web_origins),
            allowed_origins=strings(row.allowed_origins),
            grant_types=strings(row.grant_types),
            logo_uri=row.logo_uri,
            registration_type=row.registration_type,
            status=row.status,
            skip_non_verifiable_callback_uri_confirmation_prompt=skip if isinstance(skip, bool) else None,
            id_token_lifetime=stored_seconds(jwt_cfg.get("lifetime_in_seconds"), MAX_ID_TOKEN_LIFETIME),
            refresh=RefreshPolicy.from_settings(rt),
            metadata_url_host=host if isinstance(host, str) else None,
            marked_agent=attrs.get("is_agent") is True,
            assertion_credentials=private_key_jwt_credentials(attrs),
        )


def private_key_jwt_credentials(attrs: dict[str, Any]) -> tuple[str, ...]:
    """The credential ids listed in a client's stored ``client_authentication_methods.private_key_jwt``."""
    methods = mapping(attrs.get("client_authentication_methods"))
    listed = mapping(methods.get("private_key_jwt")).get("credentials")
    items = listed if isinstance(listed, list) else []
    return tuple(str(c["id"]) for c in items if isinstance(c, dict) and isinstance(c.get("id"), str))


MAX_ACCESS_TOKEN_LIFETIME = 2_592_000  # the bound on write (resource server token_lifetime)
DEFAULT_ACCESS_TOKEN_LIFETIME = 86_400  # Auth0's default, for a stored lifetime that cannot be used
USER_POLICIES = ("allow_all", "require_client_grant", "deny_all")
CLIENT_POLICIES = ("require_client_grant", "deny_all")


def _scope_defs(stored: Any) -> tuple[ScopeDef, ...]:
    """The API's scopes; entries a legacy row holds that are not ``{"value": str, ...}`` are left out."""
    defs = []
    for item in stored if isinstance(stored, list) else ():
        value = item.get("value") if isinstance(item, dict) else None
        if isinstance(value, str) and value:
            description = item.get("description")
            defs.append(
                ScopeDef(value, description if isinstance(description, str) else "", item.get("optional") is True)
            )
    return tuple(defs)


@dataclass(frozen=True)
class ApiInfo:
    id: str
    identifier: str
    name: str
    scopes: tuple[ScopeDef, ...]
    allow_offline_access: bool
    skip_consent_for_verifiable_first_party_clients: bool
    token_dialect: str
    token_lifetime: int
    user_policy: str
    client_policy: str
    is_system: bool
    consent_durations: tuple[int, ...] | None = None  # Consentry: the consent screen's choices (None: the tenant's)
    default_consent_duration: int | None = None  # Consentry: the one ticked by default (``consent.durations``)
    enforce_policies: bool = False  # Auth0 RBAC: a user's tokens hold only the permissions the user has
    signing_alg: str = "RS256"  # the access tokens' signature: RS256, or ES256 where the API opts in

    @property
    def scope_values(self) -> frozenset[str]:
        return frozenset(s.value for s in self.scopes)

    @property
    def permissions_claim(self) -> bool:
        """``access_token_authz`` and ``rfc9068_profile_authz`` put a ``permissions`` claim in the access token."""
        return self.token_dialect.endswith("_authz")

    @staticmethod
    def from_row(row: models.ResourceServer) -> ApiInfo:
        sta = mapping(row.subject_type_authorization)
        attrs = mapping(row.attributes)
        default = attrs.get("default_consent_duration")
        user_policy = mapping(sta.get("user")).get("policy", "allow_all")
        client_policy = mapping(sta.get("client")).get("policy", "require_client_grant")
        return ApiInfo(
            id=row.id,
            identifier=row.identifier,
            name=row.name,
            scopes=_scope_defs(row.scopes),
            allow_offline_access=row.allow_offline_access,
            skip_consent_for_verifiable_first_party_clients=row.skip_consent_for_verifiable_first_party_clients,
            token_dialect=row.token_dialect,
            token_lifetime=stored_seconds(row.token_lifetime, MAX_ACCESS_TOKEN_LIFETIME)
            or DEFAULT_ACCESS_TOKEN_LIFETIME,
            # an unknown stored policy is the strictest one: nothing is granted that was not meant to be
            user_policy=user_policy if user_policy in USER_POLICIES else "deny_all",
            client_policy=client_policy if client_policy in CLIENT_POLICIES else "deny_all",
            is_system=row.is_system,
            consent_durations=durations.stored_choices(attrs.get("consent_durations")),
            default_consent_duration=default if durations.is_duration(default) else None,
            enforce_policies=attrs.get("enforce_policies") is True,
            signing_alg=row.signing_alg if row.signing_alg in SIGNING_ALGS else "RS256",
        )


@dataclass(frozen=True)
class ClientGrantInfo:
    id: str
    client_id: str | None
    default_for: str | None
    audience: str
    scope: tuple[str, ...]
    allow_all_scopes: bool
    subject_type: str

    @staticmethod
    def from_row(row: models.ClientGrant) -> ClientGrantInfo:
        return ClientGrantInfo(
            id=row.id,
            client_id=row.client_id,
            default_for=row.default_for,
            audience=row.audience,
            scope=strings(row.scope),
            allow_all_scopes=row.allow_all_scopes,
            subject_type=row.subject_type,
        )


@dataclass(frozen=True)
class ConnectionInfo:
    id: str
    name: str
    strategy: str
    is_domain_connection: bool
    enabled_clients: frozenset[str] = field(default_factory=frozenset)
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    display_name: str | None = field(default=None, compare=False)
    show_as_button: bool = field(default=True, compare=False)

    @property
    def label(self) -> str:
        return self.display_name or self.name
