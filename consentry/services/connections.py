"""Connections (user directories) and the clients each one is enabled for (SPEC T6: domain-level connections).

Two strategies exist: Auth0's database connection (``auth0``) and the enterprise OpenID Connect connection
(``oidc``, docs/connections.md), whose ``options`` are checked on every write and whose ``client_secret`` is
stored encrypted and never answered back. A connection's enabled clients live in ``connection_clients``;
``is_domain_connection`` opens it to every third-party application.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from consentry.commands.connections import ConnectionCreate, ConnectionUpdate, EnabledClientUpdate, OidcOptions
from consentry.federation import secrets
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import conflict, invalid, not_found
from consentry.services.listing import Paging
from consentry.storage import connections as store
from consentry.storage.db import OrmUnit, write_now
from consentry.storage.models import Connection
from consentry.tokens import ids

STRATEGIES = ("auth0", "oidc")
SECRET_OPTION = "client_secret"
CONNECTION_CREATED = "connection.created"
CONNECTION_UPDATED = "connection.updated"
CONNECTION_DELETED = "connection.deleted"


def connection_json(row: Connection, enabled_clients: Iterable[str]) -> dict[str, Any]:
    attrs = dict(row.attributes or {})
    return {
        "id": row.id,
        "name": row.name,
        "display_name": row.display_name or row.name,
        "strategy": row.strategy,
        "options": {k: v for k, v in (row.options or {}).items() if k != SECRET_OPTION},
        "enabled_clients": sorted(enabled_clients),
        "is_domain_connection": row.is_domain_connection,
        "realms": attrs.pop("realms", None) or [row.name],
        "show_as_button": attrs.pop("show_as_button", True),
        "metadata": attrs.pop("metadata", {}),
        **attrs,
    }


async def enabled_clients(s: OrmUnit, connection_ids: list[str]) -> dict[str, list[str]]:
    """The clients enabled for each of the connections, keyed by connection id."""
    return await store.enabled_clients(s, connection_ids)


async def get_connection(s: OrmUnit, connection_id: str) -> Connection:
    row = await store.connection(s, connection_id)
    if row is None:
        raise not_found("connection", "inexistent_connection")
    return row


async def _check_clients(s: OrmUnit, client_ids: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(client_ids))
    if wanted:
        known = await store.existing_clients(s, wanted)
        missing = [c for c in wanted if c not in known]
        if missing:
            raise not_found(f"client {missing[0][:64]}", "inexistent_client")
    return wanted


def _attributes(data: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Echo-only fields (``realms``, ``show_as_button``, ``metadata``…); ``null`` removes one."""
    attrs = dict(current or {})
    for key in ("realms", "show_as_button", "metadata", "authentication", "connected_accounts"):
        if key in data:
            if data[key] is None:
                attrs.pop(key, None)
            else:
                attrs[key] = data[key]
    return attrs


def _oidc_options(rt: Runtime, options: dict[str, Any], stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """Checked ``options`` of an oidc connection, the client secret sealed; a write without ``client_secret``
    keeps the stored one (it is never answered back, so a read-modify-write cannot resend it)."""
    kept = (stored or {}).get(SECRET_OPTION)
    candidate = dict(options)
    if SECRET_OPTION not in candidate and secrets.is_sealed(kept):
        candidate[SECRET_OPTION] = secrets.unseal(rt.keys.kek, kept) or None
    try:
        checked = OidcOptions.model_validate(candidate)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise invalid(f"Payload validation error: options{'.' + where if where else ''}: {first['msg']}.") from None
    data = checked.model_dump(exclude_none=True)
    if checked.client_secret:
        data[SECRET_OPTION] = secrets.seal(rt.keys.kek, checked.client_secret)
    return data


async def create_connection(rt: Runtime, s: OrmUnit, body: ConnectionCreate, *, actor: str | None) -> Connection:
    if body.strategy not in STRATEGIES:
        raise invalid(
            f"Payload validation error: strategy '{body.strategy[:64]}' is not supported "
            f"(supported: {', '.join(STRATEGIES)})."
        )
    if await store.id_of_named(s, body.name):
        raise conflict(f"A connection with the same name already exists: {body.name}")
    clients = await _check_clients(s, body.enabled_clients or [])
    options = body.model_dump(exclude_unset=True).get("options") or {}
    if body.strategy == "oidc":
        options = _oidc_options(rt, options)
    now = rt.clock.now()
    row = Connection(
        id=ids.prefixed("con"),
        name=body.name,
        strategy=body.strategy,
        display_name=body.display_name,
        is_domain_connection=bool(body.is_domain_connection),
        options=options,
        attributes=_attributes(body.model_dump(exclude_unset=True)),
        created_at=now,
    )
    await store.insert(s, row)
    await store.replace_enabled_clients(s, row.id, clients)
    audit.record(s, now, CONNECTION_CREATED, f"Connection '{row.name}' created", details={"actor": actor})
    await write_now(s)
    return row


async def update_connection(
    rt: Runtime, s: OrmUnit, connection_id: str, body: ConnectionUpdate, *, actor: str | None
) -> Connection:
    """PATCH: ``options`` and ``enabled_clients`` replace the stored values (Auth0); name and strategy are fixed."""
    row = await get_connection(s, connection_id)
    data = body.model_dump(exclude_unset=True)
    if "display_name" in data:
        row.display_name = data["display_name"]
    if data.get("options") is not None:
        row.options = _oidc_options(rt, data["options"], row.options) if row.strategy == "oidc" else data["options"]
    if data.get("is_domain_connection") is not None:
        row.is_domain_connection = data["is_domain_connection"]
    if data.get("enabled_clients") is not None:
        await store.replace_enabled_clients(s, row.id, await _check_clients(s, data["enabled_clients"]))
    row.attributes = _attributes(data, row.attributes)
    audit.record(
        s,
        rt.clock.now(),
        CONNECTION_UPDATED,
        f"Connection '{row.name}' updated",
        details={"actor": actor, "fields": sorted(data)},
    )
    await write_now(s)
    return row


async def delete_connection(rt: Runtime, s: OrmUnit, connection_id: str, *, actor: str | None) -> None:
    """Delete a connection with its users (and what was issued to them), as Auth0 does."""
    row = await get_connection(s, connection_id)
    await store.delete_with_users(s, row)
    audit.record(s, rt.clock.now(), CONNECTION_DELETED, f"Connection '{row.name}' deleted", details={"actor": actor})
    await write_now(s)


async def list_connections(
    s: OrmUnit, p: Paging, *, strategies: list[str] | None = None, name: str | None = None
) -> tuple[list[Connection], int | None, str | None]:
    """Rows, the total (offset paging) and the ``next`` cursor (checkpoint paging)."""
    return await store.connections_page(s, p, strategies=strategies, name=name)


async def list_enabled_clients(s: OrmUnit, connection_id: str, p: Paging) -> tuple[list[str], str | None]:
    await get_connection(s, connection_id)
    return await store.enabled_clients_page(s, connection_id, p)


async def update_enabled_clients(
    rt: Runtime, s: OrmUnit, connection_id: str, changes: list[EnabledClientUpdate], *, actor: str | None
) -> None:
    """Enable or disable clients one by one (the last entry for a client wins); unknown clients are a 404."""
    row = await get_connection(s, connection_id)
    wanted = {c.client_id: c.status for c in changes}
    await _check_clients(s, wanted)
    current = await store.enabled_client_ids(s, row.id)
    for client_id, status in wanted.items():
        if status and client_id not in current:
            store.enable_client(s, row.id, client_id)
        elif not status and client_id in current:
            await store.disable_client(s, row.id, client_id)
    audit.record(
        s,
        rt.clock.now(),
        CONNECTION_UPDATED,
        f"Connection '{row.name}' clients updated",
        details={"actor": actor, "clients": wanted},
    )
    await write_now(s)
