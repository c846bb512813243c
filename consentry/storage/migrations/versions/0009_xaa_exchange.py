"""Cross App Access at the enterprise IdP and RFC 8693 delegation

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:20:00

``xaa_policies``: which app may ask this server (as the enterprise IdP) for an ID-JAG for which resource
authorization server, with which scopes and which ``client_id`` there; deleted with the app.
``delegations``: which actor chain exchanged a user's access token for which API (RFC 8693 ``act``), with the
first and last use; deleted with the user.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xaa_policies",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column(
            "client_id", sa.String(length=255), sa.ForeignKey("clients.client_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("audience", sa.String(length=600), nullable=False),
        sa.Column("resource", sa.String(length=600), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("resource_client_id", sa.String(length=255), nullable=False),
        sa.Column("subject_client_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("client_id", "audience", "resource", name="uq_xaa_policy"),
    )
    op.create_index("ix_xaa_policies_client_id", "xaa_policies", ["client_id"])
    op.create_table(
        "delegations",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("user_id", sa.String(length=255), sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("chain_key", sa.String(length=64), nullable=False),
        sa.Column("subject_client_id", sa.String(length=255), nullable=False),
        sa.Column("actor_client_id", sa.String(length=255), nullable=False),
        sa.Column("actors", sa.JSON(), nullable=False),
        sa.Column("audience", sa.String(length=600), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.Float(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("user_id", "chain_key", name="uq_delegation"),
    )
    op.create_index("ix_delegations_user_id", "delegations", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_delegations_user_id", table_name="delegations")
    op.drop_table("delegations")
    op.drop_index("ix_xaa_policies_client_id", table_name="xaa_policies")
    op.drop_table("xaa_policies")
