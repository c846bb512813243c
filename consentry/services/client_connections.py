"""The connections an application signs users in through (``GET /api/v2/clients/{id}/connections``).

The same rule as every login (``oauth.access.allowed_connections``, SPEC T6): a first-party app's enabled
connections and the domain-level ones; a third-party app's domain-level connections only. Read from the cached
configuration, ordered by connection id; ``after`` is the first id of the page (the ``next`` cursor).
"""

from __future__ import annotations

from typing import Any

from consentry.oauth.access import allowed_connections
from consentry.runtime import Runtime
from consentry.services import connections
from consentry.services.errors import not_found


async def page(
    rt: Runtime, client_id: str, *, strategies: list[str] | None, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of Auth0 connection objects (without the deprecated ``enabled_clients``) and the next cursor."""
    client = await rt.catalog.client(client_id) if len(client_id) <= 255 else None
    if client is None:
        raise not_found("client", "inexistent_client")
    allowed = allowed_connections(client, await rt.catalog.connections(client_id))
    ids = sorted(c.id for c in allowed if not strategies or c.strategy in strategies)
    if after:
        ids = [i for i in ids if i >= after]
    chosen, next_from = ids[:limit], (ids[limit] if len(ids) > limit else None)
    items = []
    async with rt.db.read() as s:
        for connection_id in chosen:
            body = connections.connection_json(await connections.get_connection(s, connection_id), ())
            body.pop("enabled_clients", None)
            items.append(body)
    return items, next_from
