"""The SQL of signed consent receipts: one row per approval, written in the transaction that wrote the grant.

Receipts are only ever added and read: they outlive a revoked grant (they prove what was approved then) and go
with the user.
"""

from __future__ import annotations

from sqlalchemy import select

from consentry.storage.db import OrmUnit
from consentry.storage.models import ConsentReceipt


def add_receipt(s: OrmUnit, row: ConsentReceipt) -> None:
    """Add the receipt to the caller's transaction (the one that writes the grant)."""
    s.add(row)


async def grant_receipts(s: OrmUnit, grant_id: str) -> list[ConsentReceipt]:
    """The receipts of one grant, oldest first."""
    rows = await s.scalars(
        select(ConsentReceipt)
        .where(ConsentReceipt.grant_id == grant_id)
        .order_by(ConsentReceipt.created_at, ConsentReceipt.id)
    )
    return list(rows.all())


async def user_receipt(s: OrmUnit, user_id: str, receipt_id: str) -> ConsentReceipt | None:
    """The receipt ``receipt_id`` if it belongs to ``user_id``."""
    return await s.scalar(
        select(ConsentReceipt).where(ConsentReceipt.id == receipt_id, ConsentReceipt.user_id == user_id)
    )


async def latest_receipt_ids(s: OrmUnit, grant_ids: list[str]) -> dict[str, str]:
    """The id of the newest receipt of each of the grants that have one."""
    rows = await s.execute(
        select(ConsentReceipt.grant_id, ConsentReceipt.id)
        .where(ConsentReceipt.grant_id.in_(grant_ids))
        .order_by(ConsentReceipt.created_at, ConsentReceipt.id)
    )
    return {grant_id: receipt_id for grant_id, receipt_id in rows.all()}
