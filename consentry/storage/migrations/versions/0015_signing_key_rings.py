"""Signing key rings: each key names its algorithm

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 01:30:00

``signing_keys.alg``: the ring a key belongs to (``RS256``, or ``ES256`` for APIs that opt in through
``signing_alg``). Every existing key is an RS256 key. The configuration counter's update trigger on
``signing_keys`` watches the new column too (``WATCHED``: what 0004 watches, as of this revision).
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

from consentry.storage import config_version

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_BEFORE = importlib.import_module("consentry.storage.migrations.versions.0004_config_version").WATCHED
WATCHED = {**_BEFORE, "signing_keys": (*_BEFORE["signing_keys"], "alg")}


def _rewatch(columns: tuple[str, ...]) -> None:
    bind = op.get_bind()
    for statement in config_version.rewatch_ddl(bind.dialect.name, "signing_keys", columns):
        bind.exec_driver_sql(statement)


def upgrade() -> None:
    op.add_column("signing_keys", sa.Column("alg", sa.String(length=16), nullable=False, server_default="RS256"))
    _rewatch(WATCHED["signing_keys"])


def downgrade() -> None:
    _rewatch(_BEFORE["signing_keys"])
    with op.batch_alter_table("signing_keys") as batch:
        batch.drop_column("alg")
