"""Refresh-token family expiry and login-session idle tracking

Revision ID: 0003
Revises: 0002_dcr
Create Date: 2026-12-02 18:45:00

``refresh_tokens.family_expires_at``: the absolute end of a rotation family (NULL: never), so rotation keeps
it instead of giving every successor a fresh lifetime; ``expires_at`` becomes the earlier of it and the idle
deadline. ``login_sessions.last_used_at``: when the session last served a request (idle session lifetime).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002_dcr"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("family_expires_at", sa.Float(), nullable=True))
    op.execute("UPDATE refresh_tokens SET family_expires_at = expires_at")
    with op.batch_alter_table("login_sessions") as batch:
        batch.add_column(sa.Column("last_used_at", sa.Float(), nullable=True))
    op.execute("UPDATE login_sessions SET last_used_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("login_sessions") as batch:
        batch.drop_column("last_used_at")
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("family_expires_at")
