"""Tenant settings: Auth0's defaults (``consentry.tenant``) under what the admin set (``tenant`` row id 1).

Only what was set is stored, so a new default reaches every tenant that did not override it.
PATCH is a shallow merge at the top level, ``flags`` one level deep; ``null`` resets a key to its default.
"""

from __future__ import annotations

from typing import Any

from consentry.commands.tenant_settings import TenantSettingsUpdate
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import invalid
from consentry.storage import connections
from consentry.storage import tenant_settings as store
from consentry.storage.db import OrmUnit, write_now
from consentry.storage.models import Tenant
from consentry.tenant import DEFAULT_SETTINGS, merged_settings

SETTINGS_UPDATED = "tenant.settings_updated"


async def _row(s: OrmUnit, rt: Runtime, *, lock: bool = False) -> Tenant:
    row = await store.tenant_row(s, lock=lock)
    if row is None:  # bootstrap creates it; be safe if it ran against another database
        row = Tenant(id=store.TENANT_ROW_ID, settings={}, updated_at=rt.clock.now())
        store.add_tenant_row(s, row)
    return row


async def get_settings(rt: Runtime, s: OrmUnit) -> dict[str, Any]:
    return merged_settings((await _row(s, rt)).settings or {})


def _check_extras(extra: dict[str, Any]) -> None:
    """Keys the model does not type must be Consentry settings, with the JSON type of their default."""
    for key, value in extra.items():
        if key not in DEFAULT_SETTINGS:
            raise invalid(f"Payload validation error: Additional properties not allowed: {key[:64]}.")
        default = DEFAULT_SETTINGS[key]
        if value is not None and type(value) is not type(default) and not _both_numbers(value, default):
            raise invalid(f"Payload validation error: {key} must be of type {type(default).__name__}.")


def _both_numbers(a: Any, b: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))


async def update_settings(rt: Runtime, s: OrmUnit, body: TenantSettingsUpdate, *, actor: str | None) -> dict[str, Any]:
    patch = body.model_dump(exclude_unset=True)
    _check_extras(body.model_extra or {})
    directory = patch.get("default_directory")
    if directory and not await connections.id_of_named(s, directory):
        raise invalid(f"Payload validation error: default_directory '{directory}' is not a connection.")
    row = await _row(s, rt, lock=True)
    stored = dict(row.settings or {})
    for key, value in patch.items():
        if value is None:
            stored.pop(key, None)
        elif key == "flags":
            stored["flags"] = {**(stored.get("flags") or {}), **value}
        else:
            stored[key] = value
    row.settings, row.updated_at = stored, rt.clock.now()
    audit.record(
        s,
        row.updated_at,
        SETTINGS_UPDATED,
        "Tenant settings updated",
        details={"actor": actor, "fields": sorted(patch)},
    )
    await write_now(s)
    return merged_settings(stored)
