"""Applications: create, update, rotate the secret, delete. Shared by the Management API, CLI and dashboard."""

from __future__ import annotations

from typing import Any

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
from consentry.services import audit, webhooks
from consentry.services import webhook_rules as events
from consentry.services.errors import conflict, invalid, not_found
from consentry.services.listing import Term, like_pattern, parse_query
from consentry.storage import client_credentials
from consentry.storage import clients as stored_clients
from consentry.storage.db import OrmUnit
from consentry.storage.models import Client
from consentry.tenant import flag
from consentry.tokens import ids

PRIVATE_KEY_JWT = "private_key_jwt"  # stored as the method while client_authentication_methods lists credentials
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
        # Auth0 answers null while ``client_authentication_methods`` holds the method (private_key_jwt)
        "token_endpoint_auth_method": (
            None if row.token_endpoint_auth_method == PRIVATE_KEY_JWT else row.token_endpoint_auth_method
        ),
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


def new_client_row(
    rt: Runtime,
    body: ClientCreate,
    *,
    registration_type: str = "admin",
    registration_ip: str | None = None,
    status: str = "active",
) -> tuple[Client, str | None]:
    """A validated client row, not yet in any session (DCR may hold it as a pending registration instead);
    returns the row and the plain secret, if any."""
    data = body.model_dump(exclude_unset=True)
    if data.get("client_authentication_methods"):
        raise invalid(
            "client_authentication_methods can be set once the application exists: create its credentials with "
            "POST /api/v2/clients/{id}/credentials, then list them with PATCH /api/v2/clients/{id}."
        )
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
    return row, secret


async def create_client(
    rt: Runtime,
    s: OrmUnit,
    body: ClientCreate,
    *,
    registration_type: str = "admin",
    registration_ip: str | None = None,
    status: str = "active",
    actor: str | None = None,
) -> tuple[Client, str | None]:
    """Insert a client (inside the caller's transaction); returns the row and the plain secret, if any."""
    row, secret = new_client_row(
        rt, body, registration_type=registration_type, registration_ip=registration_ip, status=status
    )
    await store_client(rt, s, row, actor=actor)
    return row, secret


async def store_client(rt: Runtime, s: OrmUnit, row: Client, *, actor: str | None) -> None:
    """Insert a validated row (a new client, or a pending registration's at its first consent), enable the
    tenant's connections for it when the tenant says so, and record ``client.created``."""
    if await stored_clients.client(s, row.client_id) is not None:
        raise conflict("A client with this client_id already exists.", "client_conflict")
    if not await stored_clients.add_client(s, row):  # an import of the same client_id committed in between
        raise conflict("A client with this client_id already exists.", "client_conflict")
    if flag(await rt.catalog.tenant(), "enable_client_connections"):
        await stored_clients.enable_every_connection(s, row.client_id)
    audit.record(
        s,
        rt.clock.now(),
        audit.CLIENT_CREATED,
        f"Client '{row.name}' created",
        client_id=row.client_id,
        details={"actor": actor, "registration_type": row.registration_type},
    )
    await webhooks.emit(rt, s, events.CLIENT_CREATED, {**webhooks.client_data(row), "actor": actor})


async def get_client(s: OrmUnit, client_id: str) -> Client:
    row = await stored_clients.client(s, client_id) if len(client_id) <= 255 else None
    if row is None:
        raise not_found("client", "inexistent_client")
    return row


async def update_client(rt: Runtime, s: OrmUnit, client_id: str, body: ClientUpdate) -> tuple[Client, str | None]:
    row = await get_client(s, client_id)
    secret = await apply_update(rt, row, body, s)
    audit.record(s, row.updated_at, audit.CLIENT_UPDATED, f"Client '{row.name}' updated", client_id=row.client_id)
    return row, secret


async def apply_update(rt: Runtime, row: Client, body: ClientUpdate, s: OrmUnit | None = None) -> str | None:
    """Validate ``body`` against the row and change it in place (a stored row, with its session ``s``, or a
    pending registration's); returns the new plain secret, if one was set or created."""
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
    if s is not None:
        await _apply_authentication_methods(s, row, data)
    elif data.get("client_authentication_methods"):
        raise invalid("client_authentication_methods can be set once the application is stored.")
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
    elif row.token_endpoint_auth_method == PRIVATE_KEY_JWT:
        secret = None  # the secret, if any, no longer authenticates (oauth.client_auth)
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
    return str(secret) if secret else None


async def _apply_authentication_methods(s: OrmUnit, row: Client, data: dict[str, Any]) -> None:
    """``client_authentication_methods`` (popped from ``data``): listing credentials of this application makes
    ``private_key_jwt`` its method; null (or no method) returns it to ``token_endpoint_auth_method``."""
    methods_given = "client_authentication_methods" in data
    methods = data.pop("client_authentication_methods", None) or {}
    listed = [c["id"] for c in (methods.get("private_key_jwt") or {}).get("credentials", [])]
    method = data.get("token_endpoint_auth_method")
    if listed and method is not None:
        raise invalid("token_endpoint_auth_method must be null when client_authentication_methods is set.")
    attrs = dict(row.attributes or {})
    if listed:
        for credential_id in listed:
            if await client_credentials.get_in(s, row.client_id, credential_id) is None:
                raise invalid(f"The credential '{credential_id[:64]}' does not exist for this application.")
        attrs["client_authentication_methods"] = {"private_key_jwt": {"credentials": [{"id": i} for i in listed]}}
        data.pop("token_endpoint_auth_method", None)
        row.token_endpoint_auth_method = PRIVATE_KEY_JWT
    elif methods_given or (method is not None and row.token_endpoint_auth_method == PRIVATE_KEY_JWT):
        attrs.pop("client_authentication_methods", None)
        if row.token_endpoint_auth_method == PRIVATE_KEY_JWT:
            data["token_endpoint_auth_method"] = method or "client_secret_post"
    if row.token_endpoint_auth_method == PRIVATE_KEY_JWT and data.get("token_endpoint_auth_method", "") is None:
        data.pop("token_endpoint_auth_method")  # echoing Auth0's null back leaves the method as it is
    row.attributes = attrs


async def rotate_secret(rt: Runtime, s: OrmUnit, client_id: str) -> tuple[Client, str]:
    row = await get_client(s, client_id)
    if row.token_endpoint_auth_method == "none":
        raise invalid("Public applications (token_endpoint_auth_method none) have no secret to rotate.")
    secret = ids.secret(48)
    row.secret_hash, row.updated_at = ids.digest(secret), rt.clock.now()
    return row, secret


async def delete_client(rt: Runtime, s: OrmUnit, client_id: str, *, reason: str = "deleted") -> None:
    row = await get_client(s, client_id)
    await stored_clients.delete_with_dependents(s, row)
    audit.record(s, rt.clock.now(), audit.CLIENT_DELETED, f"Client '{row.name}' {reason}", client_id=client_id)
    await webhooks.emit(rt, s, events.CLIENT_DELETED, {**webhooks.client_data(row), "reason": reason})


async def list_clients(
    s: OrmUnit,
    *,
    offset: int,
    limit: int,
    is_first_party: bool | None = None,
    app_types: list[str] | None = None,
    external_client_id: str | None = None,
    q: str | None = None,
) -> tuple[list[Client], int]:
    search: list[list[stored_clients.Match]] = []
    if q is not None and q.strip():
        groups = parse_query(q, SEARCH_FIELDS | ORGANIZATION_FIELDS)
        search = [[_search_match(t) for t in group] for group in groups]
    return await stored_clients.clients_page(
        s,
        offset=offset,
        limit=limit,
        search=search,
        external_client_id=external_client_id,
        is_first_party=is_first_party,
        app_types=app_types,
    )


# ``q`` on GET /clients: the Lucene subset of Auth0's client search (``services.listing.parse_query``).
SEARCH_FIELDS = {"client_id", "external_client_id", "name", "app_type", "is_first_party"}
ORGANIZATION_FIELDS = {"client_grant.organization_id", "client_grant.allow_any_organization"}


def _search_match(term: Term) -> stored_clients.Match:
    """One term as a stored-client condition; a bare term is a case-insensitive substring of the name."""
    if term.field in ORGANIZATION_FIELDS:
        raise invalid(
            f"Query validation error: {term.field} is not supported (Consentry has no organizations).",
            "invalid_query_string",
        )
    if term.field is None or term.field == "name":
        pattern = like_pattern(Term(term.field, term.value.lower(), term.wildcard), substring=term.field is None)
        if term.field is None or term.wildcard:
            return stored_clients.Match("name", pattern, like=True)
        return stored_clients.Match("name", term.value.lower())
    if term.field == "is_first_party":
        if term.value.lower() not in ("true", "false"):
            raise invalid("Query validation error: is_first_party must be true or false.", "invalid_query_string")
        return stored_clients.Match("is_first_party", term.value.lower() == "true")
    field: stored_clients.Field = "app_type" if term.field == "app_type" else "client_id"
    if term.field == "external_client_id":
        field = "external_client_id"
    if term.wildcard:
        return stored_clients.Match(field, like_pattern(term), like=True)
    return stored_clients.Match(field, term.value)


def ensure_exists(row: Client | None) -> Client:
    if row is None:
        raise not_found("client", "inexistent_client")
    return row
