"""First-start setup, idempotent and safe to run from several processes at once.

Creates the tenant settings row, the Management API resource server with Auth0's scopes, the
``Username-Password-Authentication`` database connection and the first signing key.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from consentry.runtime import Runtime
from consentry.storage.models import Connection, ResourceServer, Tenant
from consentry.tenant import DEFAULT_DIRECTORY, MANAGEMENT_SCOPES
from consentry.tokens import ids


async def bootstrap(rt: Runtime) -> None:
    now = rt.clock.now()
    steps = (
        (select(Tenant.id).where(Tenant.id == 1), lambda: Tenant(id=1, settings={}, updated_at=now)),
        (
            select(ResourceServer.id).where(ResourceServer.identifier == rt.settings.management_audience),
            lambda: ResourceServer(
                id=ids.hex_id(),
                identifier=rt.settings.management_audience,
                name="Auth0 Management API",
                scopes=[_scope(s) for s in MANAGEMENT_SCOPES],
                allow_offline_access=False,
                skip_consent_for_verifiable_first_party_clients=False,
                token_dialect="rfc9068_profile",
                token_lifetime=86400,
                subject_type_authorization={
                    "user": {"policy": "deny_all"},
                    "client": {"policy": "require_client_grant"},
                },
                is_system=True,
                attributes={},
                created_at=now,
                updated_at=now,
            ),
        ),
        (
            select(Connection.id).where(Connection.name == DEFAULT_DIRECTORY),
            lambda: Connection(
                id=ids.prefixed("con"),
                name=DEFAULT_DIRECTORY,
                strategy="auth0",
                display_name=DEFAULT_DIRECTORY,
                is_domain_connection=False,
                options={"brute_force_protection": True},
                attributes={},
                created_at=now,
            ),
        ),
    )
    for exists, make in steps:
        try:
            async with rt.db.transaction() as s:
                if await s.scalar(exists) is None:
                    s.add(make())
        except IntegrityError:
            pass  # another process created it first
    await _add_new_management_scopes(rt)
    await rt.keys.ensure_key()
    rt.catalog.invalidate()


def _scope(value: str) -> dict[str, str]:
    return {"value": value, "description": value.replace(":", " ").replace("_", " ").capitalize()}


async def _add_new_management_scopes(rt: Runtime) -> None:
    """A database made by an older version gets the Management API scopes added since (new endpoints)."""
    async with rt.db.transaction() as s:
        api = await s.scalar(select(ResourceServer).where(ResourceServer.identifier == rt.settings.management_audience))
        if api is None:
            return
        present = {str(v.get("value")) for v in api.scopes or [] if isinstance(v, dict)}
        missing = [_scope(v) for v in MANAGEMENT_SCOPES if v not in present]
        if missing:
            api.scopes = [*(api.scopes or []), *missing]
