"""Configuration change counter

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:00:00

``config_version``: one row whose ``version`` triggers bump in the same transaction as every write to a table
that a per-process cache reads (``consentry.storage.config_version``), so every process sees a configuration
write as soon as it returns. ``clients.last_used_at`` (written by token requests) is left out. The table and
column lists are frozen here: a later change to them is a new migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consentry.storage import config_version

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

WATCHED = {
    "tenant": ("id", "settings", "updated_at"),
    "clients": (
        "client_id",
        "name",
        "app_type",
        "is_first_party",
        "third_party_security_mode",
        "redirection_policy",
        "token_endpoint_auth_method",
        "secret_hash",
        "callbacks",
        "allowed_logout_urls",
        "web_origins",
        "allowed_origins",
        "grant_types",
        "logo_uri",
        "registration_type",
        "status",
        "registration_ip",
        "registration_token_hash",
        "attributes",
        "created_at",
        "updated_at",
    ),
    "resource_servers": (
        "id",
        "identifier",
        "name",
        "scopes",
        "allow_offline_access",
        "skip_consent_for_verifiable_first_party_clients",
        "token_dialect",
        "token_lifetime",
        "signing_alg",
        "subject_type_authorization",
        "is_system",
        "attributes",
        "created_at",
        "updated_at",
    ),
    "client_grants": (
        "id",
        "client_id",
        "default_for",
        "audience",
        "scope",
        "allow_all_scopes",
        "subject_type",
        "is_system",
        "attributes",
        "created_at",
    ),
    "connections": (
        "id",
        "name",
        "strategy",
        "display_name",
        "is_domain_connection",
        "options",
        "attributes",
        "created_at",
    ),
    "connection_clients": ("connection_id", "client_id"),
    "signing_keys": (
        "kid",
        "private_key",
        "public_jwk",
        "cert",
        "state",
        "created_at",
        "current_since",
        "current_until",
        "revoked_at",
    ),
}


def upgrade() -> None:
    op.create_table(
        "config_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    config_version.create_triggers(op.get_bind(), WATCHED)


def downgrade() -> None:
    bind = op.get_bind()
    for statement in config_version.drop_ddl(bind.dialect.name, WATCHED):
        bind.exec_driver_sql(statement)
    op.drop_table("config_version")
