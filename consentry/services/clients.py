"""Applications: create, update, rotate the secret, delete. Shared by the Management API, CLI and dashboard."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from consentry.clock import iso
from consentry.commands.clients import COLUMN_FIELDS, READ_ONLY_FIELDS, ClientCreate, ClientUpdate
from consentry.oauth.client_rules import (
    default_auth_method,
    default_grant_types,
    display_name_problem,
    grant_types_problem,
    third_party_settings_problem,
)
from consentry.oauth.redirect_uri import callback_problem
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import conflict, invalid, not_found
from consentry.storage.models import (
    AuthorizationCode,
    Client,
    Connection,
    ConnectionClient,
    Interaction,
    RefreshToken,
    UserGrant,
)
from consentry.tenant import flag
from consentry.tokens import ids

ECHO_DEFAULTS: dict[str, Any] = {
    "oidc_conformant": True,
    "sso_disabled": False,
    "cross_origin_authentication": False,
    "jwt_configuration": {"alg": "RS256", "lifetime_in_seconds": 36000, "secret_encoded": False},
    "refresh_token": {
        "rotation_type": "rotating",
        "expiration_type": "expiring",
        "leeway": 0,
        "token_lifetime": 2592000,
        "infinite_token_lifetime": False,
        "idle_token_lifetime": 1296000,
        "infinite_idle_token_lifetime": True,
    },
    "client_metadata": {},
}


def client_json(rt: Runtime, row: Client, secret: str | None = None) -> dict[str, Any]:
    """The Auth0 client object. The secret is stored hashed, so it is shown only when just created."""
    body: dict[str, Any] = {
        "client_id": row.client_id,
        "tenant": rt.settings.tenant_name,
        "global": False,
        "name": row.name,
        "app_type": row.app_type,
        "is_first_party": row.is_first_party,
        "callbacks": list(row.callbacks or []),
        "allowed_logout_urls": list(row.allowed_logout_urls or []),
        "web_origins": list(row.web_origins or []),
        "allowed_origins": list(row.allowed_origins or []),
        "grant_types": list(row.grant_types or []),
        "token_endpoint_auth_method": row.token_endpoint_auth_method,
        **{k: v for k, v in ECHO_DEFAULTS.items()},
        **(row.attributes or {}),
        "registration_type": row.registration_type,
        "created_at": iso(row.created_at),
    }
    if row.logo_uri:
        body["logo_uri"] = row.logo_uri
    if not row.is_first_party:
        body["third_party_security_mode"] = row.third_party_security_mode
        body["redirection_policy"] = row.redirection_policy
    if row.status != "active":
        body["status"] = row.status
    body.pop("metadata_url_host", None)
    cimd = body.pop("cimd", None) or {}  # internal cache bookkeeping of metadata-document clients
    if row.registration_type == "cimd":  # Auth0's fields for clients registered from a metadata document
        body["external_client_id"] = row.client_id
        body["external_metadata_type"] = "cimd"
        body["external_metadata_created_by"] = "admin" if cimd.get("created_by") == "admin" else "client"
    if secret:
        body["client_secret"] = secret
    return body


def _check_urls(field: str, values: list[str] | None, *, native: bool) -> None:
    for uri in values or []:
        problem = callback_problem(uri, native=native)
        if problem:
            raise invalid(f"Payload validation error: {field} entry '{uri[:200]}' {problem}.")


def _check_origins(field: str, values: list[str] | None) -> None:
    for origin in values or []:
        problem = callback_problem(origin, native=False)
        if problem or origin.count("/") > 3 or (origin.count("/") == 3 and not origin.endswith("/")):
            raise invalid(f"Payload validation error: {field} entry '{origin[:200]}' must be an origin.")


def _check_name(name: str | None) -> None:
    problem = display_name_problem(name) if name is not None else None
    if problem:
        raise invalid(f"Payload validation error: name {problem}.")


def _validate(row: Client) -> None:
    public = row.token_endpoint_auth_method == "none"
    problem = grant_types_problem(
        row.grant_types, third_party=not row.is_first_party, public=public, registration_type=row.registration_type
    )
    if problem:
        raise invalid(problem)
    _check_urls("callbacks", row.callbacks, native=row.app_type == "native")
    _check_urls("allowed_logout_urls", row.allowed_logout_urls, native=row.app_type == "native")
    _check_origins("web_origins", row.web_origins)
    _check_origins("allowed_origins", row.allowed_origins)


def _check_third_party(data: dict[str, Any], *, third_party: bool) -> None:
    """Restricted settings of third-party apps; a read-only field, or a property sent back with the very value every
    client object shows (``ECHO_DEFAULTS``, e.g. by a tool importing its own export), sets nothing."""
    _unset = object()
    setting = {k: v for k, v in data.items() if k not in READ_ONLY_FIELDS and ECHO_DEFAULTS.get(k, _unset) != v}
    problem = third_party_settings_problem(setting) if third_party else None
    if problem:
        raise invalid(problem)


def _attributes(data: dict[str, Any]) -> dict[str, Any]:
    attrs = {k: v for k, v in data.items() if k not in COLUMN_FIELDS | READ_ONLY_FIELDS and v is not None}
    if "refresh_token" in attrs:
        attrs["refresh_token"] = {**ECHO_DEFAULTS["refresh_token"], **attrs["refresh_token"]}
    if "jwt_configuration" in attrs:
        attrs["jwt_configuration"] = {**ECHO_DEFAULTS["jwt_configuration"], **attrs["jwt_configuration"]}
    return attrs


async def create_client(
    rt: Runtime,
    s: AsyncSession,
    body: ClientCreate,
    *,
    registration_type: str = "admin",
    registration_ip: str | None = None,
    status: str = "active",
    actor: str | None = None,
) -> tuple[Client, str | None]:
    """Insert a client (inside the caller's transaction); returns the row and the plain secret, if any."""
    data = body.model_dump(exclude_unset=True)
    _check_name(body.name)
    third_party = body.is_first_party is False
    _check_third_party(data, third_party=third_party)
    app_type = body.app_type or ("regular_web" if not third_party else "regular_web")
    method = body.token_endpoint_auth_method or default_auth_method(app_type)
    if third_party and (body.third_party_security_mode or "strict") == "strict":
        mode: str | None = "strict"
    else:
        mode = body.third_party_security_mode if third_party else None
    grant_types = body.grant_types
    if grant_types is None:
        grant_types = default_grant_types(app_type, third_party=third_party, public=method == "none")
    secret = None if method == "none" else ids.secret(48)
    now = rt.clock.now()
    if body.client_id and body.client_id.startswith("tpc_"):
        raise invalid("client_id cannot start with 'tpc_', the prefix of third-party applications.")
    row = Client(
        client_id=body.client_id or ids.client_id(third_party and mode == "strict"),
        name=body.name.strip(),
        app_type=app_type,
        is_first_party=not third_party,
        third_party_security_mode=mode,
        redirection_policy=(body.redirection_policy or "open_redirect_protection") if third_party else None,
        token_endpoint_auth_method=method,
        secret_hash=ids.digest(secret) if secret else None,
        callbacks=body.callbacks or [],
        allowed_logout_urls=body.allowed_logout_urls or [],
        web_origins=body.web_origins or [],
        allowed_origins=body.allowed_origins or [],
        grant_types=grant_types,
        logo_uri=body.logo_uri,
        registration_type=registration_type,
        registration_ip=registration_ip,
        status=status,
        attributes=_attributes(data),
        created_at=now,
        updated_at=now,
    )
    _validate(row)
    if body.client_id and await s.get(Client, body.client_id) is not None:
        raise conflict("A client with this client_id already exists.", "client_conflict")
    s.add(row)
    try:
        await s.flush()
    except IntegrityError:  # an import of the same client_id committed in between
        raise conflict("A client with this client_id already exists.", "client_conflict") from None
    if flag(await rt.catalog.tenant(), "enable_client_connections"):
        for conn_id in (await s.scalars(select(Connection.id))).all():
            s.add(ConnectionClient(connection_id=conn_id, client_id=row.client_id))
    audit.record(
        s,
        now,
        audit.CLIENT_CREATED,
        f"Client '{row.name}' created",
        client_id=row.client_id,
        details={"actor": actor, "registration_type": registration_type},
    )
    return row, secret


async def get_client(s: AsyncSession, client_id: str) -> Client:
    row = await s.get(Client, client_id) if len(client_id) <= 255 else None
    if row is None:
        raise not_found("client", "inexistent_client")
    return row


async def update_client(rt: Runtime, s: AsyncSession, client_id: str, body: ClientUpdate) -> tuple[Client, str | None]:
    row = await get_client(s, client_id)
    data = body.model_dump(exclude_unset=True)
    if "is_first_party" in data and data["is_first_party"] != row.is_first_party:
        raise invalid("is_first_party cannot be changed after creation; create a new application instead.")
    if "third_party_security_mode" in data and data["third_party_security_mode"] != row.third_party_security_mode:
        raise invalid("third_party_security_mode is set on creation and cannot be modified.")
    if "redirection_policy" in data and row.is_first_party:
        raise invalid("redirection_policy applies only to third-party applications.")
    _check_name(body.name)
    _check_third_party(data, third_party=not row.is_first_party)
    secret = data.pop("client_secret", None)
    for field in (
        "name",
        "app_type",
        "redirection_policy",
        "token_endpoint_auth_method",
        "callbacks",
        "allowed_logout_urls",
        "web_origins",
        "allowed_origins",
        "grant_types",
        "logo_uri",
    ):
        if field in data:
            value = data[field]
            if value is None and field in ("name", "app_type", "token_endpoint_auth_method"):
                raise invalid(f"Payload validation error: {field} cannot be null.")
            setattr(row, field, value if value is not None else ([] if field != "logo_uri" else None))
    if row.token_endpoint_auth_method == "none":
        row.secret_hash, secret = None, None
    elif secret:
        row.secret_hash = ids.digest(secret)
    elif row.secret_hash is None:
        secret = ids.secret(48)
        row.secret_hash = ids.digest(secret)
    attrs = dict(row.attributes or {})
    for key, value in _attributes(data).items():
        attrs[key] = {**attrs.get(key, {}), **value} if isinstance(value, dict) and key != "client_metadata" else value
    row.attributes = attrs
    _validate(row)
    row.updated_at = rt.clock.now()
    audit.record(s, row.updated_at, audit.CLIENT_UPDATED, f"Client '{row.name}' updated", client_id=row.client_id)
    return row, secret


async def rotate_secret(rt: Runtime, s: AsyncSession, client_id: str) -> tuple[Client, str]:
    row = await get_client(s, client_id)
    if row.token_endpoint_auth_method == "none":
        raise invalid("Public applications (token_endpoint_auth_method none) have no secret to rotate.")
    secret = ids.secret(48)
    row.secret_hash, row.updated_at = ids.digest(secret), rt.clock.now()
    return row, secret


async def delete_client(rt: Runtime, s: AsyncSession, client_id: str, *, reason: str = "deleted") -> None:
    row = await get_client(s, client_id)
    await s.execute(delete(RefreshToken).where(RefreshToken.client_id == client_id))
    await s.execute(delete(UserGrant).where(UserGrant.client_id == client_id))
    # Codes and pending logins before the client row (its cascade would reach them after it): a code exchange
    # or an /authorize locks its code or pending login and then checks the client, so this order cannot deadlock.
    await s.execute(delete(AuthorizationCode).where(AuthorizationCode.client_id == client_id))
    await s.execute(delete(Interaction).where(Interaction.client_id == client_id))
    await s.delete(row)
    audit.record(s, rt.clock.now(), audit.CLIENT_DELETED, f"Client '{row.name}' {reason}", client_id=client_id)


async def list_clients(
    s: AsyncSession,
    *,
    offset: int,
    limit: int,
    is_first_party: bool | None = None,
    app_types: list[str] | None = None,
    external_client_id: str | None = None,
) -> tuple[list[Client], int]:
    query = select(Client)
    if external_client_id is not None:  # a metadata-document client's id is its document's URL
        query = query.where(Client.client_id == external_client_id, Client.registration_type == "cimd")
    if is_first_party is not None:
        query = query.where(Client.is_first_party == is_first_party)
    if app_types:
        query = query.where(Client.app_type.in_(app_types))
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (await s.scalars(query.order_by(Client.created_at, Client.client_id).offset(offset).limit(limit))).all()
    return list(rows), total


def ensure_exists(row: Client | None) -> Client:
    if row is None:
        raise not_found("client", "inexistent_client")
    return row
