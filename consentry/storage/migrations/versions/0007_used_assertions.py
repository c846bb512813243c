"""Redeemed assertions (Cross App Access: an ID-JAG's ``jti`` is accepted once)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:10:00

``used_assertions``: the SHA-256 of (issuer, ``jti``) of every redeemed ID-JAG, until it expires.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "used_assertions",
        sa.Column("key", sa.String(length=64), primary_key=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_used_assertions_expires_at", "used_assertions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_used_assertions_expires_at", table_name="used_assertions")
    op.drop_table("used_assertions")
