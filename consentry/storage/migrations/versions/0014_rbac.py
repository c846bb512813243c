"""Roles and permissions (Auth0 RBAC)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 15:30:00

``roles``; ``role_permissions`` (an API identifier and one of its scope values per row); ``user_roles``;
``user_permissions`` (assigned directly). Rows go with their user or role (``ON DELETE CASCADE``); a deleted API's
permissions are deleted by the service that deletes it. The Management API resource server of an existing
database gains the role scopes (``read:roles`` …) and ``read:actions`` (an always empty list) that ``bootstrap``
gives a new one.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ROLE_SCOPES = (
    "read:roles",
    "create:roles",
    "update:roles",
    "delete:roles",
    "read:role_members",
    "create:role_members",
    "delete:role_members",
    "read:actions",
)
_RS = sa.table(
    "resource_servers", sa.column("id", sa.String), sa.column("scopes", sa.JSON), sa.column("is_system", sa.Boolean)
)


def _with_scopes(scopes: Any, add: bool) -> list[Any]:
    current = [s for s in scopes if isinstance(s, dict)] if isinstance(scopes, list) else []
    kept = [s for s in current if s.get("value") not in ROLE_SCOPES]
    if not add:
        return kept
    extra = [{"value": v, "description": v.replace(":", " ").replace("_", " ").capitalize()} for v in ROLE_SCOPES]
    return kept + extra


def _system_scopes(add: bool) -> None:
    conn = op.get_bind()
    for row in conn.execute(sa.select(_RS.c.id, _RS.c.scopes).where(_RS.c.is_system.is_(True))).all():
        conn.execute(sa.update(_RS).where(_RS.c.id == row.id).values(scopes=_with_scopes(row.scopes, add)))


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("name", sa.String(length=255), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "role_permissions",
        sa.Column("role_id", sa.String(length=64), sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("resource_server_identifier", sa.String(length=600), primary_key=True),
        sa.Column("permission_name", sa.String(length=280), primary_key=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "user_roles",
        sa.Column(
            "user_id", sa.String(length=255), sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("role_id", sa.String(length=64), sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_user_roles_role_id", "user_roles", ["role_id"])
    op.create_table(
        "user_permissions",
        sa.Column(
            "user_id", sa.String(length=255), sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("resource_server_identifier", sa.String(length=600), primary_key=True),
        sa.Column("permission_name", sa.String(length=280), primary_key=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    _system_scopes(add=True)


def downgrade() -> None:
    _system_scopes(add=False)
    op.drop_table("user_permissions")
    op.drop_index("ix_user_roles_role_id", table_name="user_roles")
    op.drop_table("user_roles")
    op.drop_table("role_permissions")
    op.drop_table("roles")
