"""Where the flows meet Client ID Metadata Documents: an ``https://`` client_id is resolved by ``cimd``."""

from __future__ import annotations

from consentry.config_records import ClientInfo
from consentry.runtime import Runtime


async def resolve(rt: Runtime, client_id: str) -> ClientInfo | None:
    from consentry.oauth.cimd import resolve_cimd_client

    return await resolve_cimd_client(rt, client_id)
