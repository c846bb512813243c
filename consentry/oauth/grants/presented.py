"""What the code and refresh grants share: the presented row, the user behind it, and the policy input.

Reading and redeeming (one joined select, one conditional update) is ``storage.redemptions``; this module
turns the row it read into what the token pipeline and ``mint_policy.decide`` need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from consentry.config_records import ClientInfo
from consentry.oauth.authorize.permissions import permissions_for
from consentry.oauth.client_auth import require_grant_type
from consentry.oauth.errors import INVALID_GRANT, INVALID_REQUEST
from consentry.oauth.grants.base import TokenContext
from consentry.oauth.mint_policy import MintDecision, MintInput
from consentry.services.user_grants import expired
from consentry.storage import redemptions, user_records
from consentry.storage.redemptions import HeldRow, PendingWrite, Redemption
from consentry.storage.user_records import UserRecord
from consentry.tokens import ids

if TYPE_CHECKING:
    from consentry.runtime import Runtime


async def presented_row(
    ctx: TokenContext, grant_type: str, parameter: str, redemption: Redemption, unknown: str
) -> tuple[str, HeldRow]:
    """What the code and refresh grants begin with: the client may use the grant type, ``parameter`` is present,
    and the row of its digest exists and belongs to the client (else ``invalid_grant``, ``unknown``).
    Returns the digest and the row."""
    require_grant_type(ctx.client, grant_type)
    value = ctx.params.get(parameter)
    if not value:
        raise INVALID_REQUEST.with_hint(f"Missing required parameter: {parameter}")
    digest = ids.digest(value)
    row = None
    if len(value) <= 200:  # longer values were never issued
        row = await redemption.read(ctx.rt.db, digest)
    if row is None or row.client_id != ctx.client.client_id:
        raise INVALID_GRANT.with_hint(unknown)
    return digest, row


def holder_of(row: HeldRow) -> UserRecord | None:
    """The user of a row read by ``storage.redemptions``, or None when the user no longer exists."""
    return user_records.from_row(row, redemptions.HOLDER)


def consent_gone(row: HeldRow, now: float) -> bool:
    """The row was issued under a user grant (consent) that has since been revoked or has expired."""
    return row.grant_id is not None and (row.live_grant_id is None or expired(row.live_grant_expires_at, now))


def grant_expires_at(row: HeldRow) -> float | None:
    """When the user grant of a held row ends (None: until revoked, or no grant)."""
    return row.live_grant_expires_at if row.live_grant_id is not None else None


def usage_updates(rt: Runtime, client_id: str, grant_id: str | None, now: float) -> list[PendingWrite]:
    """The ``last_used_at`` writes due now for the client and its user grant (``services.usage``)."""
    updates = []
    if rt.usage.due("client", client_id, now):
        updates.append(redemptions.touch_client(client_id, now))
    if grant_id and rt.usage.due("grant", grant_id, now):
        updates.append(redemptions.touch_grant(grant_id, now))
    return updates


async def mint_input(rt: Runtime, client: ClientInfo, row: HeldRow, scopes: list[str]) -> MintInput:
    """The current data ``mint_policy.decide`` needs for a code or refresh-token row."""
    api = await rt.catalog.api(row.audience) if row.audience else None
    grants = await rt.catalog.client_grants(row.audience, client.client_id) if api is not None else ()
    ended = row.live_grant_id is not None and expired(row.live_grant_expires_at, rt.clock.now())
    consent = frozenset(row.live_grant_scope or ()) if row.live_grant_id is not None and not ended else None
    user = holder_of(row)
    return MintInput(
        client,
        user,
        row.audience,
        api,
        grants,
        await rt.catalog.connections(client.client_id),
        tuple(scopes),
        row.grant_id is not None,
        consent,
        consent_expired=ended,
        permitted=await permissions_for(rt, api, user.user_id if user else None),
    )


def mint_details(row: HeldRow, decision: MintDecision) -> dict[str, Any]:
    """The audit details of a user-flow mint: what it was for, what it got, and what current policy dropped."""
    details: dict[str, Any] = {"audience": row.audience, "scope": " ".join(decision.scopes), "grant_id": row.grant_id}
    if decision.dropped:
        details["dropped"] = list(decision.dropped)
    return details
