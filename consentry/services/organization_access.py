"""What a user sees of access they did not grant themselves: the admin's Cross App Access policies (the organization
granted them, standing in for consent) and the agents that acted for them (RFC 8693 delegation). Reads only;
``/u/apps`` and the admin's user view show them.
"""

from __future__ import annotations

from dataclasses import dataclass

from consentry.config_records import ClientInfo
from consentry.oauth.access import allowed_connections
from consentry.runtime import Runtime
from consentry.storage import delegations, user_records, xaa_policies
from consentry.storage.delegations import DelegationInfo


@dataclass(frozen=True)
class OrganizationGrant:
    """An app the organization lets obtain access at another authorization server for this user."""

    client: ClientInfo
    audience: str
    resource: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class ActedFor:
    """One delegation chain: which agent (and through whom) acted for the user, at which API."""

    actor_name: str
    through: tuple[str, ...]  # the names of the earlier actors, most recent first
    origin_name: str  # the app the user authorized
    delegation: DelegationInfo


async def _name(rt: Runtime, client_id: str) -> str:
    client = await rt.catalog.client(client_id)
    return client.name if client else f"{client_id} (deleted)"


async def organization_grants(rt: Runtime, user_id: str) -> list[OrganizationGrant]:
    """The policies of the apps this user may use (their connection is enabled for the app)."""
    user = await user_records.find(rt.db, user_id)
    if user is None:
        return []
    grants: list[OrganizationGrant] = []
    for policy in await xaa_policies.listed(rt.db):
        client = await rt.catalog.client(policy.client_id)
        if client is None or client.status != "active":
            continue
        usable = allowed_connections(client, await rt.catalog.connections(client.client_id))
        if user.connection_id in {c.id for c in usable}:
            grants.append(OrganizationGrant(client, policy.audience, policy.resource, policy.scope))
    return grants


async def acted_for(rt: Runtime, user_id: str) -> list[ActedFor]:
    rows = await delegations.of_user(rt.db, user_id)
    return [
        ActedFor(
            actor_name=await _name(rt, d.actor_client_id),
            through=tuple([await _name(rt, a) for a in d.actors[1:]]),
            origin_name=await _name(rt, d.subject_client_id),
            delegation=d,
        )
        for d in rows
    ]
