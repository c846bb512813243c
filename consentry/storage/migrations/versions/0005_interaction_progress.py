"""Typed progress of a pending authorization request

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:00:00

``interactions.approved_scopes`` (what the user approved on the consent screen for this request; an empty
list approved nothing new), ``confirmed_at`` (the confirmation prompt was answered) and ``next_path`` (where a
login for no application continues) replace reserved keys inside ``params``. Transactions live minutes, so
pending ones are not converted: at worst, a user midway when the upgrade runs sees a prompt once more.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("approved_scopes", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("confirmed_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("next_path", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("next_path")
        batch.drop_column("confirmed_at")
        batch.drop_column("approved_scopes")
