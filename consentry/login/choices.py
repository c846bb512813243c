"""Which sign-in methods a pending request offers: database connections (password form) and enterprise ones.

SPEC T6 through ``oauth.access.allowed_connections``: a third-party application sees domain-level connections
only, a first-party one its enabled connections too. A login for no application (the dashboard, the
connected-apps page) offers every database connection and the domain-level enterprise ones. ``connection`` in
the authorization request narrows the choice to that one connection, as Auth0 does.
"""

from __future__ import annotations

from dataclasses import dataclass

from consentry.config_records import ClientInfo, ConnectionInfo
from consentry.oauth.access import allowed_connections
from consentry.runtime import Runtime
from consentry.services import dcr_pending
from consentry.storage.interactions import PendingRequest

DATABASE = "auth0"
ENTERPRISE = ("oidc",)


@dataclass(frozen=True)
class Choices:
    client: ClientInfo | None
    database: list[ConnectionInfo]
    enterprise: list[ConnectionInfo]

    @property
    def empty(self) -> bool:
        return not self.database and not self.enterprise

    def enterprise_by_name(self, name: str) -> ConnectionInfo | None:
        return next((c for c in self.enterprise if c.name == name), None)

    def enterprise_by_id(self, connection_id: str | None) -> ConnectionInfo | None:
        return next((c for c in self.enterprise if c.id == connection_id), None)


async def login_choices(rt: Runtime, txn: PendingRequest | None) -> Choices:
    client_id = txn.client_id if txn is not None else None
    connections = await rt.catalog.connections(client_id or None)
    if not client_id:
        allowed = [c for c in connections if c.strategy == DATABASE or c.is_domain_connection]
        return _split(None, allowed)
    client = await dcr_pending.find_client(rt, client_id)
    if client is None:
        return Choices(None, [], [])
    allowed = allowed_connections(client, connections)
    wanted = txn.params.get("connection") if txn is not None else None
    if wanted:
        allowed = [c for c in allowed if c.name == wanted]
    return _split(client, allowed)


def _split(client: ClientInfo | None, allowed: list[ConnectionInfo]) -> Choices:
    return Choices(
        client, [c for c in allowed if c.strategy == DATABASE], [c for c in allowed if c.strategy in ENTERPRISE]
    )
