"""Benchmark data: the few configuration objects through the services, the many rows by Core bulk inserts.

Configuration (an API, an M2M client, a third-party web app and their client grants) goes through the
same service functions as the Management API, so it is valid by construction. Users, consents, SSO
sessions, refresh tokens and authorization codes are inserted in bulk with SQLAlchemy Core: the
scenarios that consume them (refresh rotation, code exchange) need one fresh row per request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, insert, select, update

from consentry.runtime import Runtime
from consentry.storage.models import (
    AuthorizationCode,
    Client,
    ClientGrant,
    Connection,
    ConnectionClient,
    LoginSession,
    RefreshToken,
    Tenant,
    User,
    UserGrant,
)
from consentry.tenant import DEFAULT_DIRECTORY
from consentry.tokens import ids

if TYPE_CHECKING:
    from consentry.commands.resource_servers import SigningAlg

API = "https://api.bench.example/"
CALLBACK = "https://partner.bench.example/callback"
PASSWORD = "bench-password-123"
SCOPE = "openid profile offline_access read:data"
VERIFIER = "bench-pkce-verifier-" + "v" * 40
BATCH = 20_000


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class Fixture:
    """What the scenarios need to talk to the seeded server."""

    m2m_id: str
    m2m_secret: str
    app_id: str
    app_secret: str
    connection_id: str
    users: list[str] = field(default_factory=list)  # user ids that have a consent (login and SSO users)
    grants: dict[str, str] = field(default_factory=dict)  # user id -> user grant id
    emails: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)  # raw SSO session cookies
    files: dict[str, Path] = field(default_factory=dict)  # consumable lists for wrk (one item a line)


def _user_row(i: int, prefix: str, connection_id: str, password_hash: str, now: float) -> dict[str, Any]:
    return {
        "user_id": f"auth0|{prefix}{i:08d}",
        "connection_id": connection_id,
        "email": f"{prefix}{i}@bench.example",
        "username": None,
        "password_hash": password_hash,
        "email_verified": True,
        "blocked": False,
        "is_admin": False,
        "profile": {"name": f"Bench User {i}"},
        "app_metadata": {},
        "user_metadata": {},
        "logins_count": 0,
        "last_login": None,
        "last_ip": None,
        "created_at": now,
        "updated_at": now,
    }


async def _bulk(rt: Runtime, model: Any, rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> int:
    """Insert many rows fast: ``executemany`` on the raw sqlite3 connection, ``COPY`` on PostgreSQL.

    Rows carry every column of the table; JSON columns are serialized here as SQLAlchemy would.
    Each batch is its own transaction, which keeps memory flat at a million rows.
    """
    table = model.__table__
    columns = [c.name for c in table.columns]
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    count = 0
    async with rt.db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        sqlite_conn = getattr(raw, "_conn", None) if rt.db.is_sqlite else None
        for batch in _batches(rows, BATCH):
            if set(batch[0]) != set(columns):
                raise ValueError(f"{table.name}: rows must name every column")
            if sqlite_conn is not None:
                values = [tuple(json.dumps(r[c]) if c in json_columns else r[c] for c in columns) for r in batch]
                sqlite_conn.executemany(
                    f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values
                )
                sqlite_conn.commit()
            elif raw is not None and not rt.db.is_sqlite and hasattr(raw, "copy_records_to_table"):
                values = [tuple(json.dumps(r[c]) if c in json_columns else r[c] for c in columns) for r in batch]
                await raw.copy_records_to_table(table.name, records=values, columns=columns)
            else:
                await conn.execute(insert(model), batch)
                await conn.commit()
            count += len(batch)
    return count


def _batches(rows: Iterator[dict[str, Any]] | list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def seed_config(rt: Runtime, password_hash: str, users: int, signing_alg: SigningAlg = "RS256") -> Fixture:
    """The API (its access tokens signed with ``signing_alg``), the clients, their grants and ``users`` users who
    consented to the partner app."""
    from consentry.commands.client_grants import ClientGrantCreate
    from consentry.commands.clients import ClientCreate
    from consentry.commands.resource_servers import ResourceServerCreate, ScopeIn
    from consentry.services.client_grants import create_client_grant
    from consentry.services.clients import create_client
    from consentry.services.resource_servers import create_resource_server

    async with rt.db.transaction() as s:
        tenant = await s.get(Tenant, 1)
        assert tenant is not None
        tenant.settings = {
            **(tenant.settings or {}),
            "flags": {**(tenant.settings or {}).get("flags", {}), "third_party_oidc_identity": True},
        }
        await s.execute(
            update(Connection).where(Connection.name == DEFAULT_DIRECTORY).values(is_domain_connection=True)
        )
        connection_id = await s.scalar(select(Connection.id).where(Connection.name == DEFAULT_DIRECTORY))
    rt.catalog.invalidate()
    async with rt.db.transaction() as s:
        await create_resource_server(
            rt,
            s,
            ResourceServerCreate(
                identifier=API,
                name="Bench API",
                allow_offline_access=True,
                signing_alg=signing_alg,
                token_lifetime=3600,
                scopes=[
                    ScopeIn(value="read:data", description="Read your data"),
                    ScopeIn(value="write:data", description="Change your data"),
                ],
            ),
        )
    rt.catalog.invalidate()
    async with rt.db.transaction() as s:
        m2m, m2m_secret = await create_client(
            rt, s, ClientCreate(name="bench-m2m", app_type="non_interactive", grant_types=["client_credentials"])
        )
        await create_client_grant(
            rt,
            s,
            ClientGrantCreate(
                client_id=m2m.client_id, audience=API, scope=["read:data", "write:data"], subject_type="client"
            ),
        )
        app, app_secret = await create_client(
            rt,
            s,
            ClientCreate(
                name="Bench Partner",
                app_type="regular_web",
                is_first_party=False,
                callbacks=[CALLBACK],
                grant_types=["authorization_code", "refresh_token"],
            ),
        )
        await create_client_grant(
            rt,
            s,
            ClientGrantCreate(
                client_id=app.client_id, audience=API, scope=["read:data", "write:data"], subject_type="user"
            ),
        )
    rt.catalog.invalidate()
    assert m2m_secret and app_secret and connection_id
    fx = Fixture(m2m.client_id, m2m_secret, app.client_id, app_secret, connection_id)
    now = rt.clock.now()
    rows = [_user_row(i, "user", connection_id, password_hash, now) for i in range(users)]
    await _bulk(rt, User, rows)
    fx.users = [r["user_id"] for r in rows]
    fx.emails = [r["email"] for r in rows]
    grant_rows: list[dict[str, Any]] = [
        {
            "id": ids.prefixed("ugr"),
            "user_id": uid,
            "client_id": app.client_id,
            "audience": API,
            "scope": ["openid", "profile", "offline_access", "read:data"],
            "created_at": now,
            "updated_at": now,
            "last_used_at": None,
            "expires_at": None,
            "expiry_notified_at": None,
        }
        for uid in fx.users
    ]
    await _bulk(rt, UserGrant, grant_rows)
    fx.grants = {r["user_id"]: r["id"] for r in grant_rows}
    return fx


async def seed_sessions(rt: Runtime, fx: Fixture, count: int) -> None:
    """Live SSO sessions for the first ``count`` users (the cookie values are kept in ``fx.sessions``)."""
    now = rt.clock.now()
    tokens = [ids.secret(32) for _ in range(count)]
    await _bulk(
        rt,
        LoginSession,
        [
            {
                "id": ids.secret(16),
                "token_hash": ids.digest(t),
                "user_id": fx.users[i % len(fx.users)],
                "auth_time": now,
                "created_at": now,
                "expires_at": now + 7 * 86400,
                "last_used_at": now,
                "revoked_at": None,
            }
            for i, t in enumerate(tokens)
        ],
    )
    fx.sessions = tokens


async def seed_consumables(rt: Runtime, fx: Fixture, workdir: Path, count: int, tag: str) -> None:
    """``count`` refresh tokens and ``count`` authorization codes, each usable once; lists for wrk."""
    now = rt.clock.now()
    scope = SCOPE.split()
    challenge = s256(VERIFIER)

    def owner(i: int) -> tuple[str, str]:
        uid = fx.users[i % len(fx.users)]
        return uid, fx.grants[uid]

    refresh = [ids.secret(48) for _ in range(count)]

    def refresh_rows() -> Iterator[dict[str, Any]]:
        for i, raw in enumerate(refresh):
            uid, gid = owner(i)
            yield {
                "id": ids.hex_id(),
                "token_hash": ids.digest(raw),
                "family_id": ids.hex_id(),
                "client_id": fx.app_id,
                "user_id": uid,
                "audience": API,
                "scope": scope,
                "grant_id": gid,
                "session_id": None,
                "code_hash": None,
                "auth_time": now,
                "created_at": now,
                "expires_at": now + 86400,
                "family_expires_at": now + 86400,
                "rotated_at": None,
                "revoked_at": None,
            }

    codes = [ids.secret(32) for _ in range(count)]

    def code_rows() -> Iterator[dict[str, Any]]:
        for i, raw in enumerate(codes):
            uid, gid = owner(i)
            yield {
                "code_hash": ids.digest(raw),
                "client_id": fx.app_id,
                "user_id": uid,
                "session_id": None,
                "redirect_uri": CALLBACK,
                "scope": scope,
                "audience": API,
                "resource": None,
                "code_challenge": challenge,
                "nonce": "bench-nonce",
                "auth_time": now,
                "grant_id": gid,
                "created_at": now,
                "expires_at": now + 3600,
                "consumed_at": None,
            }

    await _bulk(rt, RefreshToken, refresh_rows())
    await _bulk(rt, AuthorizationCode, code_rows())
    for name, items in (("refresh", refresh), ("codes", codes)):
        path = workdir / f"{name}-{tag}.txt"
        path.write_text("\n".join(items) + "\n")
        fx.files[name] = path


async def seed_scale(
    rt: Runtime,
    fx: Fixture,
    *,
    users: int,
    clients: int,
    grants: int,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, float]:
    """The data-scale set: ``users`` users, ``clients`` third-party apps (each with a client grant on
    the bench API, enabled on the connection), and ``grants`` user consents spread over them."""
    now = rt.clock.now()
    timings: dict[str, float] = {}
    shared_hash = await _one_hash(rt, fx)
    client_ids = ["tpc_" + secrets.token_hex(16) for _ in range(clients)]

    async def timed(name: str, model: Any, rows: Iterator[dict[str, Any]]) -> None:
        t0 = time.perf_counter()
        n = await _bulk(rt, model, rows)
        timings[name] = round(time.perf_counter() - t0, 1)
        progress(f"seeded {n:,} {name} in {timings[name]} s")

    def client_rows() -> Iterator[dict[str, Any]]:
        for i, cid in enumerate(client_ids):
            yield {
                "client_id": cid,
                "name": f"Scale App {i}",
                "app_type": "regular_web",
                "is_first_party": False,
                "third_party_security_mode": "strict",
                "redirection_policy": "open_redirect_protection",
                "token_endpoint_auth_method": "client_secret_post",
                "secret_hash": ids.digest(cid),
                "callbacks": [f"https://app{i}.scale.example/callback"],
                "allowed_logout_urls": [],
                "web_origins": [],
                "allowed_origins": [],
                "grant_types": ["authorization_code", "refresh_token"],
                "logo_uri": None,
                "registration_type": "admin",
                "status": "active",
                "registration_ip": None,
                "registration_token_hash": None,
                "attributes": {},
                "created_at": now,
                "updated_at": now,
                "last_used_at": None,
            }

    await timed("clients", Client, client_rows())
    await timed(
        "connection links",
        ConnectionClient,
        ({"connection_id": fx.connection_id, "client_id": cid} for cid in client_ids),
    )
    await timed(
        "client grants",
        ClientGrant,
        (
            {
                "id": _fast_id("cgr"),
                "client_id": cid,
                "default_for": None,
                "audience": API,
                "scope": ["read:data"],
                "allow_all_scopes": False,
                "subject_type": "user",
                "is_system": False,
                "attributes": {},
                "created_at": now,
            }
            for cid in client_ids
        ),
    )
    await timed("users", User, (_user_row(i, "scale", fx.connection_id, shared_hash, now) for i in range(users)))
    await timed(
        "user grants",
        UserGrant,
        (
            {
                "id": _fast_id("ugr"),
                "user_id": f"auth0|scale{i % users:08d}",
                "client_id": client_ids[(i // max(users, 1) + i) % clients],
                "audience": API,
                "scope": ["openid", "read:data"],
                "created_at": now,
                "updated_at": now,
                "last_used_at": None,
                "expires_at": None,
                "expiry_notified_at": None,
            }
            for i in range(grants)
        ),
    )
    return timings


def _fast_id(prefix: str) -> str:
    """``cgr_…``/``ugr_…`` with 96 random bits in hex: ids.prefixed() draws 24 characters one by one,
    which is most of the seeding time at a million rows (seed data needs uniqueness, not the alphabet)."""
    return f"{prefix}_{secrets.token_hex(12)}"


async def _one_hash(rt: Runtime, fx: Fixture) -> str:
    async with rt.db.read() as s:
        value = await s.scalar(select(User.password_hash).where(User.user_id == fx.users[0]))
    assert value
    return value
