"""Database tables (SQLAlchemy 2 typed declarative models).

Times are stored as UTC epoch seconds (float) so SQLite and PostgreSQL compare them alike;
the API layers format them as ISO 8601. Secrets, codes and refresh tokens are stored hashed.
Fields that are only stored and echoed (Auth0 compatibility) live in the ``attributes`` JSON.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, list[str]: JSON}


class Tenant(Base):
    __tablename__ = "tenant"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[float] = mapped_column(Float)


class Client(Base):
    __tablename__ = "clients"
    client_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    app_type: Mapped[str | None] = mapped_column(String(32))
    is_first_party: Mapped[bool] = mapped_column(Boolean, default=True)
    third_party_security_mode: Mapped[str | None] = mapped_column(String(16))
    redirection_policy: Mapped[str | None] = mapped_column(String(32))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str | None] = mapped_column(String(128))
    callbacks: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_logout_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    web_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    logo_uri: Mapped[str | None] = mapped_column(Text)
    registration_type: Mapped[str] = mapped_column(String(16), default="admin")  # admin | dcr | cimd
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | pending
    registration_ip: Mapped[str | None] = mapped_column(String(64))
    registration_token_hash: Mapped[str | None] = mapped_column(String(128))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float)


class ResourceServer(Base):
    __tablename__ = "resource_servers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(600), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    allow_offline_access: Mapped[bool] = mapped_column(Boolean, default=False)
    skip_consent_for_verifiable_first_party_clients: Mapped[bool] = mapped_column(Boolean, default=True)
    token_dialect: Mapped[str] = mapped_column(String(32), default="rfc9068_profile")
    token_lifetime: Mapped[int] = mapped_column(Integer, default=86400)
    signing_alg: Mapped[str] = mapped_column(String(16), default="RS256")
    subject_type_authorization: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class ClientGrant(Base):
    __tablename__ = "client_grants"
    __table_args__ = (
        UniqueConstraint("client_id", "audience", "subject_type", name="uq_client_grant_client"),
        UniqueConstraint("default_for", "audience", "subject_type", name="uq_client_grant_default"),
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str | None] = mapped_column(
        String(255), ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    default_for: Mapped[str | None] = mapped_column(String(32))
    audience: Mapped[str] = mapped_column(
        String(600), ForeignKey("resource_servers.identifier", ondelete="CASCADE"), index=True
    )
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    allow_all_scopes: Mapped[bool] = mapped_column(Boolean, default=False)
    subject_type: Mapped[str] = mapped_column(String(16), default="client")
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float)


class Connection(Base):
    __tablename__ = "connections"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    strategy: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(String(255))
    is_domain_connection: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float)


class ConnectionClient(Base):
    """Which clients a connection is enabled for (Auth0's ``enabled_clients``)."""

    __tablename__ = "connection_clients"
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("connection_id", "email", name="uq_user_email"),
        UniqueConstraint("connection_id", "username", name="uq_user_username"),
    )
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    username: Mapped[str | None] = mapped_column(String(128))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    app_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    logins_count: Mapped[int] = mapped_column(Integer, default=0)
    last_login: Mapped[float | None] = mapped_column(Float)
    last_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class UserGrant(Base):
    """A user's consent: user x application x API, with the union of approved scopes."""

    __tablename__ = "user_grants"
    __table_args__ = (
        UniqueConstraint("user_id", "client_id", "audience", name="uq_user_grant"),
        Index("ix_user_grants_expiry", "expiry_notified_at", "expires_at"),  # the expiry sweep (services.webhooks)
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"), index=True)
    audience: Mapped[str] = mapped_column(String(600))
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float)  # the duration the user chose; None: until revoked
    # When its expiry was announced (the ``grant.expired`` webhook event, ``services.webhooks``): exactly once
    expiry_notified_at: Mapped[float | None] = mapped_column(Float)


class ConsentReceipt(Base):
    """A signed record of one approval (``services.consent_receipts``). Kept when the grant is revoked: it proves
    what was approved then; deleted with the user."""

    __tablename__ = "consent_receipts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(255))
    audience: Mapped[str] = mapped_column(String(600))
    jws: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class WebhookSubscription(Base):
    """An endpoint that receives signed event deliveries (``services.webhooks``). The signing secret is kept
    encrypted with the key-encryption key: it must be used again for every delivery, so it cannot be hashed."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(255))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class WebhookDelivery(Base):
    """One event for one subscription: the outbox row, written in the transaction of the change it reports, and
    its delivery history. ``lease_token``/``lease_until``: the dispatcher that claimed the current attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the ``webhook-id`` header, kept across retries
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # the exact body sent (and signed)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    lease_token: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[float | None] = mapped_column(Float)
    last_attempt_at: Mapped[float | None] = mapped_column(Float)
    last_status: Mapped[int | None] = mapped_column(Integer)  # HTTP status of the last attempt (None: no answer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[float | None] = mapped_column(Float)


class LoginSession(Base):
    __tablename__ = "login_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the public ``sid``
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), index=True)
    auth_time: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float)  # idle session lifetime
    revoked_at: Mapped[float | None] = mapped_column(Float)


class Interaction(Base):
    """A pending /authorize request waiting for login or consent (the ``state`` of /u/* pages)."""

    __tablename__ = "interactions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # A stored client or a pending registration (``storage.dcr_models``), so no foreign key; deleting either
    # deletes its pending requests (``services.clients.delete_client``, ``storage.pending_registrations``).
    client_id: Mapped[str | None] = mapped_column(String(255), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    csrf: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(255))
    session_id: Mapped[str | None] = mapped_column(String(64))
    # What the user did for this request (``oauth.authorize.flow``): logged in, approved these scopes on the
    # consent screen (an empty list approved nothing new), answered the confirmation prompt.
    login_done_at: Mapped[float | None] = mapped_column(Float)
    approved_scopes: Mapped[list[str] | None] = mapped_column(JSON)
    confirmed_at: Mapped[float | None] = mapped_column(Float)
    next_path: Mapped[str | None] = mapped_column(String(2000))  # a login for no app: where to go afterwards
    # A sign-in sent to an enterprise OIDC provider (``federation``): which connection, the ``state`` it must
    # answer with (single use, cleared by the callback), the ID token's ``nonce`` and the PKCE verifier.
    upstream_connection_id: Mapped[str | None] = mapped_column(String(64))
    upstream_state: Mapped[str | None] = mapped_column(String(64), index=True)
    upstream_nonce: Mapped[str | None] = mapped_column(String(64))
    upstream_verifier: Mapped[str | None] = mapped_column(String(128))
    consent_page_sha256: Mapped[str | None] = mapped_column(String(64))  # of the consent page last shown (receipts)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    consumed_at: Mapped[float | None] = mapped_column(Float)


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"
    code_hash: Mapped[str] = mapped_column(String(128), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"))
    session_id: Mapped[str | None] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    audience: Mapped[str | None] = mapped_column(String(600))
    resource: Mapped[str | None] = mapped_column(String(600))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    nonce: Mapped[str | None] = mapped_column(Text)
    auth_time: Mapped[float] = mapped_column(Float)
    grant_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    consumed_at: Mapped[float | None] = mapped_column(Float)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), index=True)
    audience: Mapped[str | None] = mapped_column(String(600))
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    session_id: Mapped[str | None] = mapped_column(String(64))
    code_hash: Mapped[str | None] = mapped_column(String(128), index=True)
    auth_time: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)  # the earlier of family_expires_at and the idle deadline
    family_expires_at: Mapped[float | None] = mapped_column(Float)  # absolute end of the family; None: never
    rotated_at: Mapped[float | None] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)


class SigningKey(Base):
    __tablename__ = "signing_keys"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_key: Mapped[str] = mapped_column(Text)  # PEM, encrypted with the key-encryption key
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    cert: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # current | next | previous | revoked
    created_at: Mapped[float] = mapped_column(Float)
    current_since: Mapped[float | None] = mapped_column(Float)
    current_until: Mapped[float | None] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)
    alg: Mapped[str] = mapped_column(String(16), default="RS256", server_default="RS256")  # the key's ring


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_date", "date"),)
    log_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    date: Mapped[float] = mapped_column(Float)
    type: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    client_id: Mapped[str | None] = mapped_column(String(255), index=True)
    user_id: Mapped[str | None] = mapped_column(String(255), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class UserTicket(Base):
    """A single-use link sent to a user (password change, email verification): Auth0's tickets. Only the
    digest of the link's secret is stored; ``used_at`` is set once, by the one request that redeems it."""

    __tablename__ = "user_tickets"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # password_change | email_verification
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str | None] = mapped_column(String(255))
    result_url: Mapped[str | None] = mapped_column(Text)
    mark_email_as_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    include_email_in_redirect: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float)


class UsedAssertion(Base):
    """Assertions (ID-JAG ``jti`` per issuer, hashed) already redeemed, kept until they expire: no replay."""

    __tablename__ = "used_assertions"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class XaaPolicy(Base):
    """Consentry as the enterprise IdP: the admin lets an app ask for ID-JAGs for one resource authorization
    server (``audience``, its issuer), with a ceiling of scopes and the app's ``client_id`` there. The policy
    stands in for each user's consent (enterprise-managed authorization)."""

    __tablename__ = "xaa_policies"
    __table_args__ = (UniqueConstraint("client_id", "audience", "resource", name="uq_xaa_policy"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"), index=True)
    audience: Mapped[str] = mapped_column(String(600))  # the resource authorization server's issuer
    resource: Mapped[str] = mapped_column(String(600))  # its resource ("" when the request names none)
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    resource_client_id: Mapped[str] = mapped_column(String(255))  # the app's client_id at the resource AS
    subject_client_id: Mapped[str | None] = mapped_column(String(255))  # the resource AS's login client here
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class Role(Base):
    """A named set of API permissions (Auth0 RBAC); users hold roles (``user_roles``) and direct permissions."""

    __tablename__ = "roles"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # rol_…
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class Delegation(Base):
    """Who acted for whom (RFC 8693 delegation): one row per user, actor chain and API, with the last use."""

    __tablename__ = "delegations"
    __table_args__ = (UniqueConstraint("user_id", "chain_key", name="uq_delegation"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), index=True)
    chain_key: Mapped[str] = mapped_column(String(64))  # SHA-256 of (subject app, actors, audience)
    subject_client_id: Mapped[str] = mapped_column(String(255))  # the app the user authorized
    actor_client_id: Mapped[str] = mapped_column(String(255))  # the outermost actor (the new token's azp)
    actors: Mapped[list[str]] = mapped_column(JSON, default=list)  # outermost first
    audience: Mapped[str] = mapped_column(String(600))
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_at: Mapped[float] = mapped_column(Float)
    last_at: Mapped[float] = mapped_column(Float)


class ClientCredential(Base):
    """A public key an application signs its ``private_key_jwt`` client assertions with (Auth0's client
    credentials, ``credential_type: public_key``); ``kid`` is the key's RFC 7638 thumbprint."""

    __tablename__ = "client_credentials"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(128))
    credential_type: Mapped[str] = mapped_column(String(32))
    kid: Mapped[str] = mapped_column(String(128))
    alg: Mapped[str] = mapped_column(String(16))
    pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float)


class Job(Base):
    """A background job (users import or export): claimed by one worker at a time through ``lease_until``,
    its progress counted as it runs, so a restarted server resumes it (``services.jobs``)."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))  # users_import | users_export
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | processing | completed | failed
    connection_id: Mapped[str | None] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # upsert, format, fields, limit, external_id
    payload: Mapped[str | None] = mapped_column(Text)  # the uploaded file (imports), the file made (exports)
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    status_details: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)


class JobError(Base):
    """One user an import could not write, with why (Auth0's ``GET /jobs/{id}/errors``)."""

    __tablename__ = "job_errors"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)


class RolePermission(Base):
    """One permission (an API's scope) a role carries."""

    __tablename__ = "role_permissions"
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)
    resource_server_identifier: Mapped[str] = mapped_column(String(600), primary_key=True)
    permission_name: Mapped[str] = mapped_column(String(280), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (Index("ix_user_roles_role_id", "role_id"),)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)


class UserPermission(Base):
    """A permission assigned to a user directly (not through a role)."""

    __tablename__ = "user_permissions"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True)
    resource_server_identifier: Mapped[str] = mapped_column(String(600), primary_key=True)
    permission_name: Mapped[str] = mapped_column(String(280), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)


class RateCounter(Base):
    """Fixed-window counters shared by every process (login failures, registrations)."""

    __tablename__ = "rate_counters"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    window_start: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer, default=0)


class ConfigVersion(Base):
    """One row (``id`` 1): the configuration change counter, bumped by triggers (``storage.config_version``)."""

    __tablename__ = "config_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


# The tables per-process caches read (Catalog, KeyStore, CORS origins): their writes bump ``config_version``.
CACHED_TABLES = (Tenant, Client, ResourceServer, ClientGrant, Connection, ConnectionClient, SigningKey)
CACHED_TABLE_NAMES = frozenset(m.__tablename__ for m in CACHED_TABLES)


def _create_config_triggers(_metadata: Any, connection: Any, tables: Any = (), **_kw: Any) -> None:
    """``metadata.create_all`` builds the same counter and triggers as migration 0004, after every table."""
    from consentry.storage import config_version

    if ConfigVersion.__tablename__ not in {t.name for t in tables}:
        return
    tables = {m.__tablename__: [c.name for c in m.__table__.columns] for m in CACHED_TABLES}
    config_version.create_triggers(connection, config_version.watched(tables))


event.listen(Base.metadata, "after_create", _create_config_triggers)
