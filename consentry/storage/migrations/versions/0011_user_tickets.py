"""User tickets: single-use password-change and email-verification links

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:30:00

``user_tickets``: one row per link sent to a user (``POST /api/v2/tickets/*``, ``/dbconnections/change_password``,
the verification email after a signup). The link's secret is stored as its SHA-256 digest; ``used_at`` marks the
one redemption; rows are deleted with their user.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_tickets",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("token_hash", sa.String(length=128), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=255), sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=True),
        sa.Column("result_url", sa.Text(), nullable=True),
        sa.Column("mark_email_as_verified", sa.Boolean(), nullable=False),
        sa.Column("include_email_in_redirect", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_user_tickets_user_id", "user_tickets", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_user_tickets_user_id", table_name="user_tickets")
    op.drop_table("user_tickets")
