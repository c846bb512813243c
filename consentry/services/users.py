"""Users of database connections: create, read, update, delete, and their Auth0 JSON shape."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from consentry.clock import iso
from consentry.login.passwords import hash_password, password_problem
from consentry.management.errors import ManagementError, bad_request, not_found
from consentry.runtime import Runtime
from consentry.storage.models import Connection, User
from consentry.tokens import ids

PROFILE_FIELDS = ("name", "nickname", "given_name", "family_name", "picture", "phone_number", "phone_verified")


def user_json(row: User, connection_name: str) -> dict[str, Any]:
    local_id = row.user_id.split("|", 1)[1]
    profile = dict(row.profile or {})
    email = row.email
    body: dict[str, Any] = {
        "user_id": row.user_id,
        "email": email,
        "email_verified": row.email_verified,
        "username": row.username,
        "name": profile.get("name") or email or row.username,
        "nickname": profile.get("nickname") or (email.split("@")[0] if email else row.username),
        "picture": profile.get("picture") or _gravatar(email),
        **{k: profile[k] for k in PROFILE_FIELDS if k in profile and k not in ("name", "nickname", "picture")},
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "identities": [{"connection": connection_name, "provider": "auth0", "user_id": local_id, "isSocial": False}],
        "app_metadata": row.app_metadata or {},
        "user_metadata": row.user_metadata or {},
        "logins_count": row.logins_count,
        "blocked": row.blocked,
    }
    if row.last_login:
        body["last_login"] = iso(row.last_login)
        body["last_ip"] = row.last_ip
    if body["username"] is None:
        body.pop("username")
    return body


def _gravatar(email: str | None) -> str:
    digest = hashlib.md5((email or "").strip().lower().encode()).hexdigest()  # noqa: S324 - gravatar's scheme
    return f"https://s.gravatar.com/avatar/{digest}?s=480&r=pg&d=identicon"


async def connection_by_name(s: AsyncSession, name: str) -> Connection:
    conn = await s.scalar(select(Connection).where(Connection.name == name))
    if conn is None:
        raise bad_request(f"The connection does not exist: {name[:128]}.", "inexistent_connection")
    return conn


async def create_user(
    rt: Runtime,
    s: AsyncSession,
    *,
    connection: str,
    email: str | None,
    password: str | None,
    username: str | None = None,
    profile: dict[str, Any] | None = None,
    email_verified: bool = False,
    blocked: bool = False,
    app_metadata: dict[str, Any] | None = None,
    user_metadata: dict[str, Any] | None = None,
    is_admin: bool = False,
    user_id: str | None = None,
) -> tuple[User, Connection]:
    conn = await connection_by_name(s, connection)
    if conn.strategy != "auth0":
        raise bad_request("Users can be created only in database connections (strategy auth0).")
    if not email and not username:
        raise bad_request("Payload validation error: 'Missing required property: email'.")
    if email is not None and ("@" not in email or len(email) > 320 or email != email.strip()):
        raise bad_request("Payload validation error: 'email' is not a valid email address.")
    if not password:
        raise bad_request("Payload validation error: 'Missing required property: password'.")
    problem = password_problem(password)
    if problem:
        raise bad_request(problem, "invalid_password")
    now = rt.clock.now()
    row = User(
        user_id=f"auth0|{user_id or ids.hex_id(16)}",
        connection_id=conn.id,
        email=email.lower() if email else None,
        username=username,
        password_hash=hash_password(password),
        email_verified=email_verified,
        blocked=blocked,
        is_admin=is_admin,
        profile={k: v for k, v in (profile or {}).items() if v is not None},
        app_metadata=app_metadata or {},
        user_metadata=user_metadata or {},
        logins_count=0,
        created_at=now,
        updated_at=now,
    )
    if await _exists(s, conn.id, row.email, username, row.user_id):
        raise ManagementError(409, "The user already exists.", "auth0_idp_error")
    s.add(row)
    try:
        await s.flush()
    except IntegrityError:
        raise ManagementError(409, "The user already exists.", "auth0_idp_error") from None
    return row, conn


async def _exists(s: AsyncSession, conn_id: str, email: str | None, username: str | None, user_id: str) -> bool:
    if await s.get(User, user_id) is not None:
        return True
    if email and await s.scalar(select(User.user_id).where(User.connection_id == conn_id, User.email == email)):
        return True
    return bool(
        username
        and await s.scalar(select(User.user_id).where(User.connection_id == conn_id, User.username == username))
    )


async def get_user(s: AsyncSession, user_id: str) -> User:
    row = await s.get(User, user_id) if len(user_id) <= 255 else None
    if row is None:
        raise not_found("user", "inexistent_user")
    return row


async def connection_name(s: AsyncSession, connection_id: str) -> str:
    return await s.scalar(select(Connection.name).where(Connection.id == connection_id)) or ""
