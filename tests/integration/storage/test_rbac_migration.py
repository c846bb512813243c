"""Migration 0012 on an existing SQLite database: the RBAC tables appear, the Management API resource server gains
the role scopes and ``read:actions`` (once, whatever it held), and the downgrade takes both away again."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from alembic import command

from consentry.storage.migrate import alembic_config, upgrade

ADDED = {"read:roles", "create:roles", "update:roles", "delete:roles", "read:role_members"}


def _scopes(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        (stored,) = db.execute("SELECT scopes FROM resource_servers WHERE is_system = 1").fetchone()
    return [s["value"] for s in json.loads(stored)]


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_upgrade_adds_tables_and_the_role_scopes_then_downgrade_removes_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0013")
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO resource_servers (id, identifier, name, scopes, allow_offline_access,"
            " skip_consent_for_verifiable_first_party_clients, token_dialect, token_lifetime, signing_alg,"
            " subject_type_authorization, is_system, attributes, created_at, updated_at)"
            " VALUES ('rs1', 'https://old.example.com/api/v2/', 'Auth0 Management API', ?, 0, 0, 'rfc9068_profile',"
            " 86400, 'RS256', '{}', 1, '{}', 0, 0)",
            (json.dumps([{"value": "read:clients", "description": "Read clients"}, {"value": "read:roles"}]),),
        )
    upgrade(url, "0014")
    scopes = _scopes(path)
    assert scopes[0] == "read:clients" and ADDED | {"read:actions"} <= set(scopes)
    assert len(scopes) == len(set(scopes)), "a scope the row already held is not added twice"
    assert {"roles", "role_permissions", "user_roles", "user_permissions"} <= _tables(path)
    command.downgrade(alembic_config(url), "0013")
    assert _scopes(path) == ["read:clients"]
    assert not {"roles", "role_permissions", "user_roles", "user_permissions"} & _tables(path)
