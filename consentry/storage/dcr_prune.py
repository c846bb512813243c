"""What pruning unused DCR clients reads: the clients old enough to be stale, each with how many live user
grants and refresh tokens rely on it, in one statement (the rule itself is ``services.dcr_prune.stale_reason``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select

from consentry.storage.db import OrmUnit
from consentry.storage.models import Client, RefreshToken, UserGrant


@dataclass(frozen=True)
class StaleWindow:
    """Which DCR clients are old enough to be stale at ``now``: never used and registered before
    ``never_used_before``, or last used before ``used_before``."""

    now: float
    never_used_before: float
    used_before: float


@dataclass(frozen=True)
class Candidate:
    """A DCR client that may be stale, and what still relies on it."""

    row: Client
    live_grants: int
    live_refresh_tokens: int


def _candidates(window: StaleWindow) -> Select[Any]:
    now = window.now
    grants = select(func.count()).select_from(UserGrant).where(UserGrant.client_id == Client.client_id)
    tokens = (
        select(func.count())
        .select_from(RefreshToken)
        .where(
            RefreshToken.client_id == Client.client_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.rotated_at.is_(None),
            RefreshToken.expires_at > now,
        )
    )
    return (
        select(Client, grants.scalar_subquery(), tokens.scalar_subquery())
        .where(Client.registration_type == "dcr")
        .where(
            or_(
                Client.last_used_at.is_(None) & (Client.created_at < window.never_used_before),
                Client.last_used_at < window.used_before,
            )
        )
        .order_by(Client.created_at, Client.client_id)
    )


async def candidates(s: OrmUnit, window: StaleWindow) -> list[Candidate]:
    """The DCR clients old enough to be stale, oldest first, with their user grant and live refresh token counts."""
    found = (await s.execute(_candidates(window))).all()
    return [Candidate(row, grants, tokens) for row, grants, tokens in found]


async def candidate_for_update(s: OrmUnit, client_id: str, window: StaleWindow) -> Candidate | None:
    """The client, if it is still a candidate, with its counts and its row locked for the caller's transaction
    (PostgreSQL): a client used meanwhile is seen as used."""
    query = _candidates(window).where(Client.client_id == client_id).with_for_update(of=Client)
    found = (await s.execute(query)).first()
    if found is None:
        return None
    row, grants, tokens = found
    return Candidate(row, grants, tokens)
