"""The client configuration endpoint of Dynamic Client Registration (RFC 7592): ``GET``, ``PUT`` and ``DELETE``
``/oidc/register/{client_id}`` with the registration access token.

The token manages a stored DCR client or a pending registration (``services.dcr_pending``) alike: the
``client_id`` and the token issued at registration stay the same when the first consent stores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consentry.commands.clients import ClientUpdate
from consentry.oauth.errors import INVALID_CLIENT_METADATA
from consentry.oauth.registration import DUMMY_DIGEST, bearer, information, invalid_token, parse_metadata, validate
from consentry.runtime import Runtime
from consentry.services import clients as client_service
from consentry.services import dcr_pending
from consentry.services.errors import ServiceError
from consentry.storage import pending_registrations, registrations
from consentry.storage.db import OrmUnit
from consentry.storage.dcr_models import PendingRegistration
from consentry.storage.models import Client
from consentry.tokens import ids


@dataclass(frozen=True)
class Managed:
    """What a registration access token manages: a stored client, or a pending registration (``held``)."""

    row: Client
    token: str
    held: PendingRegistration | None


async def _authorized(rt: Runtime, s: OrmUnit, client_id: str, authorization: str | None) -> Managed:
    """The DCR client the registration access token belongs to (RFC 7592 §2), stored or still pending (its
    token and ``client_id`` stay the same at promotion), else 401 ``invalid_token``."""
    token = bearer(authorization)
    row = await registrations.client(s, client_id) if token and len(client_id) <= 255 else None
    held = None
    if row is None and token:
        held = dcr_pending.live(await pending_registrations.get(s, client_id), rt.clock.now())
        row = dcr_pending.as_client(held) if held is not None else None
    stored = row.registration_token_hash if row is not None and row.registration_type == "dcr" else None
    if not ids.matches(token, stored or DUMMY_DIGEST) or stored is None or token is None or row is None:
        raise invalid_token("The registration access token is missing, invalid, or not for this client.")
    return Managed(row=row, token=token, held=held)


async def read(rt: Runtime, client_id: str, authorization: str | None) -> dict[str, Any]:
    """``GET /oidc/register/{client_id}`` (RFC 7592 §2.1)."""
    async with rt.db.read() as s:
        found = await _authorized(rt, s, client_id, authorization)
    return information(rt, found.row, secret=None, access_token=found.token)


async def update(
    rt: Runtime, client_id: str, body: bytes, content_type: str | None, authorization: str | None
) -> dict[str, Any]:
    """``PUT /oidc/register/{client_id}`` (RFC 7592 §2.2): the body replaces the registered metadata."""
    policy = await dcr_pending.current_policy(rt)
    async with rt.db.transaction() as s:
        found = await _authorized(rt, s, client_id, authorization)
        row, token = found.row, found.token
        meta = parse_metadata(body, content_type)
        if meta.client_id != row.client_id:
            raise INVALID_CLIENT_METADATA.with_hint("client_id must be present and equal the registered client_id.")
        if meta.client_secret is not None and not ids.matches(meta.client_secret, row.secret_hash):
            raise INVALID_CLIENT_METADATA.with_hint("client_secret does not match the issued secret.")
        reg = validate(meta, rt.settings)
        if (reg.auth_method == "none") != (row.token_endpoint_auth_method == "none"):
            raise INVALID_CLIENT_METADATA.with_hint(
                "A client cannot switch between public and confidential; register a new client instead."
            )
        moved = set(reg.redirect_uris) != set(row.callbacks or [])
        changes = ClientUpdate(
            name=reg.name,
            app_type=reg.app_type,  # type: ignore[arg-type]
            token_endpoint_auth_method=reg.auth_method,  # type: ignore[arg-type]
            callbacks=reg.redirect_uris,
            grant_types=reg.grant_types,
            logo_uri=reg.logo_uri,
            web_origins=reg.web_origins,
            allowed_logout_urls=reg.logout_uris,
        )
        try:
            if found.held is None:
                row, _ = await client_service.update_client(rt, s, row.client_id, changes)
            else:
                await client_service.apply_update(rt, row, changes)
        except ServiceError as exc:
            raise INVALID_CLIENT_METADATA.with_hint(exc.message) from None
        row.attributes = {**(row.attributes or {}), "registration_metadata": reg.metadata}
        if moved and policy.require_approval:
            row.status = "pending"  # an approval covered the callbacks the admin saw
        if found.held is not None:
            dcr_pending.rewrite(found.held, row)
    return information(rt, row, secret=None, access_token=token)


async def remove(rt: Runtime, client_id: str, authorization: str | None) -> None:
    """``DELETE /oidc/register/{client_id}`` (RFC 7592 §2.3): the client, its grants and tokens go."""
    async with rt.db.transaction() as s:
        found = await _authorized(rt, s, client_id, authorization)
        if found.held is not None:
            await pending_registrations.delete_one(s, client_id)
        else:
            await client_service.delete_client(
                rt, s, found.row.client_id, reason="deleted by its registration access token"
            )
