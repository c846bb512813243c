"""Register-on-consent DCR: pending registrations

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 15:30:00

``pending_registrations``: clients registered dynamically that no user has approved yet; the first consent
turns one into a ``clients`` row with the same ``client_id``. ``interactions.client_id`` names a stored client
or a pending registration, so its foreign key to ``clients`` goes (deleting either deletes its pending
requests explicitly) and it gets an index for those deletes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# SQLite's foreign keys are unnamed: batch mode names the reflected one by this convention to drop it.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
SQLITE_FK = "fk_interactions_client_id_clients"


def _postgres_fk_names() -> list[str]:
    found = sa.inspect(op.get_bind()).get_foreign_keys("interactions")
    return [str(fk["name"]) for fk in found if fk.get("referred_table") == "clients" and fk.get("name")]


def upgrade() -> None:
    op.create_table(
        "pending_registrations",
        sa.Column("client_id", sa.String(length=255), primary_key=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("registration_ip", sa.String(length=64), nullable=True),
        sa.Column("registration_token_hash", sa.String(length=128), nullable=False),
        sa.Column("client", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_pending_registrations_registration_ip", "pending_registrations", ["registration_ip"])
    op.create_index("ix_pending_registrations_expires_at", "pending_registrations", ["expires_at"])
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("interactions", naming_convention=NAMING, recreate="always") as batch:
            batch.drop_constraint(SQLITE_FK, type_="foreignkey")
    else:
        for name in _postgres_fk_names():
            op.drop_constraint(name, "interactions", type_="foreignkey")
    op.create_index("ix_interactions_client_id", "interactions", ["client_id"])


def downgrade() -> None:
    op.drop_index("ix_interactions_client_id", table_name="interactions")
    op.execute(
        "DELETE FROM interactions WHERE client_id IS NOT NULL AND client_id NOT IN (SELECT client_id FROM clients)"
    )
    with op.batch_alter_table("interactions") as batch:
        batch.create_foreign_key(
            "fk_interactions_client_id_clients", "clients", ["client_id"], ["client_id"], ondelete="CASCADE"
        )
    op.drop_index("ix_pending_registrations_expires_at", table_name="pending_registrations")
    op.drop_index("ix_pending_registrations_registration_ip", table_name="pending_registrations")
    op.drop_table("pending_registrations")
