"""Time-boxed user grants and signed consent receipts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 07:30:00

``user_grants.expires_at``: the end of the access the user chose on the consent screen (NULL: until revoked,
which every existing grant keeps). ``interactions.consent_page_sha256``: the SHA-256 of the consent page as it
was rendered to the user, which the receipt of the approval carries. ``consent_receipts``: one signed receipt
(a JWS) per approval, kept when its grant is revoked and deleted with its user.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_grants") as batch:
        batch.add_column(sa.Column("expires_at", sa.Float(), nullable=True))
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("consent_page_sha256", sa.String(length=64), nullable=True))
    op.create_table(
        "consent_receipts",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("grant_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=255), sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("audience", sa.String(length=600), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_consent_receipts_grant_id", "consent_receipts", ["grant_id"])
    op.create_index("ix_consent_receipts_user_id", "consent_receipts", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_consent_receipts_user_id", table_name="consent_receipts")
    op.drop_index("ix_consent_receipts_grant_id", table_name="consent_receipts")
    op.drop_table("consent_receipts")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("consent_page_sha256")
    with op.batch_alter_table("user_grants") as batch:
        batch.drop_column("expires_at")
