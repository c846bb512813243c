"""Grant and security webhooks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 15:20:00

``webhook_subscriptions``: the endpoints that receive signed deliveries (secret encrypted with the key-encryption
key). ``webhook_deliveries``: the outbox, one row per event and subscription, written in the transaction of the
change it reports, with its delivery history and the lease of the attempt in flight.
``user_grants.expiry_notified_at``: when the grant's expiry was announced; grants already expired when this
migration runs count as announced (no burst of old ``grant.expired`` events on upgrade). The built-in Management
API gains the ``read:``/``create:``/``update:``/``delete:webhooks`` scopes.
"""

from __future__ import annotations

import json
import time

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


WEBHOOK_SCOPES = ("read:webhooks", "create:webhooks", "update:webhooks", "delete:webhooks")


def _add_management_scopes() -> None:
    """The system Management API resource server (``bootstrap``) lists the new scopes, as on a fresh tenant."""
    bind = op.get_bind()
    servers = sa.table(
        "resource_servers",
        sa.column("id", sa.String()),
        sa.column("identifier", sa.String()),
        sa.column("scopes", sa.JSON()),
        sa.column("is_system", sa.Boolean()),
    )
    rows = bind.execute(sa.select(servers.c.id, servers.c.identifier, servers.c.scopes).where(servers.c.is_system))
    for row in rows.all():
        scopes = row.scopes if isinstance(row.scopes, list) else json.loads(row.scopes or "[]")
        if not row.identifier.endswith("/api/v2/"):
            continue
        known = {s.get("value") for s in scopes if isinstance(s, dict)}
        added = [
            {"value": v, "description": v.replace(":", " ").replace("_", " ").capitalize()}
            for v in WEBHOOK_SCOPES
            if v not in known
        ]
        if added:
            bind.execute(servers.update().where(servers.c.id == row.id).values(scopes=[*scopes, *added]))


def upgrade() -> None:
    _add_management_scopes()
    with op.batch_alter_table("user_grants") as batch:
        batch.add_column(sa.Column("expiry_notified_at", sa.Float(), nullable=True))
    op.create_index("ix_user_grants_expiry", "user_grants", ["expiry_notified_at", "expires_at"])
    grants = sa.table("user_grants", sa.column("expires_at", sa.Float()), sa.column("expiry_notified_at", sa.Float()))
    op.execute(
        grants.update()
        .where(grants.c.expires_at.is_not(None), grants.c.expires_at <= time.time())
        .values(expiry_notified_at=grants.c.expires_at)
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column(
            "subscription_id",
            sa.String(length=64),
            sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("lease_token", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("last_attempt_at", sa.Float(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_webhook_deliveries_subscription_id", "webhook_deliveries", ["subscription_id"])
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_subscription_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
    op.drop_index("ix_user_grants_expiry", table_name="user_grants")
    with op.batch_alter_table("user_grants") as batch:
        batch.drop_column("expiry_notified_at")
