"""The browser origins active clients register (web origins, allowed origins, callbacks): one read."""

from __future__ import annotations

from sqlalchemy import select

from consentry.storage.db import Database
from consentry.storage.models import Client

OriginLists = tuple[list[str] | None, list[str] | None, list[str] | None]


async def active_origin_lists(db: Database) -> list[OriginLists]:
    """``(web_origins, allowed_origins, callbacks)`` of every active client, as stored."""
    async with db.read() as s:
        query = select(Client.web_origins, Client.allowed_origins, Client.callbacks).where(Client.status == "active")
        return [(r[0], r[1], r[2]) for r in (await s.execute(query)).all()]
