"""The SQL of taking back part of a user's consent (``services/app_access.py``): the grant a device belongs to,
and writing a narrowed grant. The refresh-token families themselves are ``storage/refresh_tokens.py``'s."""

from __future__ import annotations

from consentry.storage.db import OrmUnit
from consentry.storage.models import UserGrant


async def user_grant(s: OrmUnit, grant_id: str) -> UserGrant | None:
    """The grant a revoked device's family belonged to (None when it was deleted meanwhile)."""
    return await s.get(UserGrant, grant_id)
