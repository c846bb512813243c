"""First-start setup, idempotent and safe to run from several processes at once.

Creates the tenant settings row, the Management API resource server with Auth0's scopes, the
``Username-Password-Authentication`` database connection and the first signing key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from consentry.runtime import Runtime
from consentry.storage import bootstrap_rows
from consentry.storage.db import OrmUnit
from consentry.storage.gone import duplicate_key
from consentry.storage.models import Base, Connection, ResourceServer, Tenant
from consentry.tenant import DEFAULT_DIRECTORY, MANAGEMENT_SCOPES
from consentry.tokens import ids


def _scope_entry(value: str) -> dict[str, str]:
    return {"value": value, "description": value.replace(":", " ").replace("_", " ").capitalize()}


async def bootstrap(rt: Runtime) -> None:
    now = rt.clock.now()
    audience = rt.settings.management_audience
    steps: tuple[tuple[Callable[[OrmUnit], Awaitable[bool]], Callable[[], Base]], ...] = (
        (bootstrap_rows.has_tenant, lambda: Tenant(id=1, settings={}, updated_at=now)),
        (
            lambda s: bootstrap_rows.has_api(s, audience),
            lambda: ResourceServer(
                id=ids.hex_id(),
                identifier=audience,
                name="Auth0 Management API",
                scopes=[_scope_entry(s) for s in MANAGEMENT_SCOPES],
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
            lambda s: bootstrap_rows.has_connection_named(s, DEFAULT_DIRECTORY),
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
    for present, make in steps:
        try:
            async with rt.db.transaction() as s:
                if not await present(s):
                    bootstrap_rows.add(s, make())
        except Exception as exc:  # another process created it first: its duplicate key is no error
            if not duplicate_key(exc):
                raise
    await _add_new_management_scopes(rt, now)
    await rt.keys.ensure_key()
    rt.catalog.invalidate()


async def _add_new_management_scopes(rt: Runtime, now: float) -> None:
    """A Management API bootstrapped by an older version gets the scopes added since (``create:user_tickets``)."""
    audience = rt.settings.management_audience
    async with rt.db.read() as s:
        row = await bootstrap_rows.api_by_identifier(s, audience)
        have = {entry.get("value") for entry in (row.scopes if row else []) if isinstance(entry, dict)}
    if row is None or have.issuperset(MANAGEMENT_SCOPES):
        return
    async with rt.db.transaction() as s:
        row = await bootstrap_rows.api_by_identifier(s, audience)
        if row is None:
            return
        have = {entry.get("value") for entry in row.scopes if isinstance(entry, dict)}
        row.scopes = [*row.scopes, *(_scope_entry(v) for v in MANAGEMENT_SCOPES if v not in have)]
        row.updated_at = now
