"""A pending request's sign-in at an enterprise OIDC provider

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:00:00

``interactions.upstream_connection_id`` (the enterprise connection the user chose or home realm discovery
picked), ``upstream_state`` (what the provider's callback must present; indexed, single use), ``upstream_nonce``
(the ID token's expected ``nonce``) and ``upstream_verifier`` (the PKCE code verifier sent at the code exchange).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("upstream_connection_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("upstream_state", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("upstream_nonce", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("upstream_verifier", sa.String(length=128), nullable=True))
        batch.create_index("ix_interactions_upstream_state", ["upstream_state"])


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_index("ix_interactions_upstream_state")
        batch.drop_column("upstream_verifier")
        batch.drop_column("upstream_nonce")
        batch.drop_column("upstream_state")
        batch.drop_column("upstream_connection_id")
