"""The ``clients`` row of a metadata-document client: read with its reuse deadline, inserted or refreshed.

A valid document becomes a third-party, strict, public client (``registration_type: "cimd"``) whose
``attributes.cimd.expires_at`` is the HTTP cache lifetime of the document it was read from.
"""

from __future__ import annotations

from typing import Any

from consentry.config_records import ClientInfo
from consentry.oauth.cimd.document import ALLOWED_GRANTS
from consentry.oauth.cimd.errors import refuse
from consentry.runtime import Runtime
from consentry.services import audit, webhooks
from consentry.services.webhook_rules import CLIENT_CREATED
from consentry.storage import registrations
from consentry.storage.models import Client
from consentry.tenant import flag

OTHER_KIND = "This client_id is registered by other means and cannot be a metadata document URL."


async def stored(rt: Runtime, url: str) -> tuple[ClientInfo, float] | None:
    """The stored client and until when it may be reused, or None when there is none yet."""
    async with rt.db.read() as s:
        row = await registrations.client(s, url)
        if row is None:
            return None
        if row.registration_type != "cimd":
            raise refuse(OTHER_KIND)
        return ClientInfo.from_row(row), float(((row.attributes or {}).get("cimd") or {}).get("expires_at") or 0)


def new_row(
    url: str,
    now: float,
    *,
    name: str,
    callbacks: list[str],
    grant_types: list[str],
    logo_uri: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> Client:
    """A third-party, strict, public native client: no secret, never client credentials (SPEC T3, T9).

    Both ways in build it here: the automatic fetch at ``/authorize`` and an administrator's registration
    (``services/cimd_registration.py``), which fills the fields from the document afterwards.
    """
    return Client(
        client_id=url,
        name=name,
        app_type="native",
        is_first_party=False,
        third_party_security_mode="strict",
        redirection_policy="open_redirect_protection",
        token_endpoint_auth_method="none",
        secret_hash=None,
        callbacks=callbacks,
        allowed_logout_urls=[],
        web_origins=[],
        allowed_origins=[],
        grant_types=grant_types,
        logo_uri=logo_uri,
        registration_type="cimd",
        status="active",
        attributes=attributes or {},
        created_at=now,
        updated_at=now,
    )


async def upsert(rt: Runtime, url: str, host: str, meta: dict[str, Any], ttl: float) -> ClientInfo:
    """Insert or refresh the client row, in one transaction."""
    now = rt.clock.now()
    name = meta["name"] or host
    async with rt.db.transaction() as s:
        row = await registrations.client(s, url)
        if row is not None and row.registration_type != "cimd":
            raise refuse(OTHER_KIND)
        cimd = {"fetched_at": now, "expires_at": now + ttl}
        if row is None:
            row = new_row(
                url,
                now,
                name=name,
                callbacks=meta["callbacks"],
                grant_types=list(ALLOWED_GRANTS),
                logo_uri=meta["logo_uri"],
                attributes={"metadata_url_host": host, "cimd": cimd},
            )
            s.add(row)
            await s.flush()
            if flag(await rt.catalog.tenant(), "enable_client_connections"):
                await registrations.enable_every_connection(s, url)
            audit.record(
                s,
                now,
                audit.CLIENT_CREATED,
                f"Client '{name}' registered by metadata document",
                client_id=url,
                details={"registration_type": "cimd", "host": host},
            )
            await webhooks.emit(rt, s, CLIENT_CREATED, {**webhooks.client_data(row), "actor": None})
        else:
            changed = (row.name, row.logo_uri, list(row.callbacks or [])) != (name, meta["logo_uri"], meta["callbacks"])
            row.name, row.logo_uri, row.callbacks = name, meta["logo_uri"], meta["callbacks"]
            row.attributes = {**(row.attributes or {}), "metadata_url_host": host, "cimd": cimd}
            row.updated_at = now
            if changed:
                audit.record(
                    s,
                    now,
                    audit.CLIENT_UPDATED,
                    f"Client '{name}' metadata document changed",
                    client_id=url,
                    details={"registration_type": "cimd"},
                )
        info = ClientInfo.from_row(row)
    return info
