"""Users of database connections: create, read, update, delete, and their Auth0 JSON shape."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from consentry.clock import iso
from consentry.commands.users import UserCreate, UserUpdate
from consentry.login import password_policy
from consentry.login.passwords import hash_password
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import conflict, invalid, not_found
from consentry.services.listing import Term, parse_query
from consentry.storage import connections as stored_connections
from consentry.storage import users as store
from consentry.storage.db import OrmUnit, write_now, write_unless_taken
from consentry.storage.models import Connection, User
from consentry.tokens import ids

USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_DELETED = "user.deleted"
METADATA_LIMIT = 16 * 1024  # bytes of JSON per metadata object, as Auth0
SEARCH_FIELDS = {
    "email",
    "user_id",
    "name",
    "username",
    "nickname",
    "email_verified",
    "blocked",
    "identities.connection",
    "connection",
}

PROFILE_FIELDS = ("name", "nickname", "given_name", "family_name", "picture", "phone_number", "phone_verified")


def user_json(row: User, connection_name: str) -> dict[str, Any]:
    provider, local_id = row.user_id.split("|", 1)  # auth0|<id>, or oidc|<connection>|<upstream sub>
    profile = dict(row.profile or {})
    email = row.email
    body: dict[str, Any] = {
        "user_id": row.user_id,
        "email": email,
        "email_verified": row.email_verified,
        "username": row.username,
        "name": profile.get("name") or email or row.username,
        "nickname": profile.get("nickname") or (email.split("@")[0] if email else row.username),
        "picture": profile.get("picture") or gravatar(email),
        **{k: profile[k] for k in PROFILE_FIELDS if k in profile and k not in ("name", "nickname", "picture")},
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "identities": [{"connection": connection_name, "provider": provider, "user_id": local_id, "isSocial": False}],
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


def gravatar(email: str | None) -> str:
    digest = hashlib.md5((email or "").strip().lower().encode()).hexdigest()  # noqa: S324 - gravatar's scheme
    return f"https://s.gravatar.com/avatar/{digest}?s=480&r=pg&d=identicon"


async def connection_by_name(s: OrmUnit, name: str) -> Connection:
    conn = await store.connection_named(s, name)
    if conn is None:
        raise invalid(f"The connection does not exist: {name[:128]}.", "inexistent_connection")
    return conn


async def create_user(
    rt: Runtime,
    s: OrmUnit,
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
        raise invalid("Users can be created only in database connections (strategy auth0).")
    if not email and not username:
        raise invalid("Payload validation error: 'Missing required property: email'.")
    if email is not None and ("@" not in email or len(email) > 320 or email != email.strip()):
        raise invalid("Payload validation error: 'email' is not a valid email address.")
    if not password:
        raise invalid("Payload validation error: 'Missing required property: password'.")
    verdict = password_policy.check(conn.options, password)  # the connection's passwordPolicy (Auth0)
    if not verdict.ok:
        raise invalid(verdict.message(), "invalid_password")
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
    if await store.identity_taken(s, connection_id=conn.id, email=row.email, username=username, user_id=row.user_id):
        raise conflict("The user already exists.", "auth0_idp_error")
    if not await store.add_user(s, row):
        raise conflict("The user already exists.", "auth0_idp_error")
    return row, conn


async def get_user(s: OrmUnit, user_id: str) -> User:
    row = await store.user(s, user_id) if len(user_id) <= 255 else None
    if row is None:
        raise not_found("user", "inexistent_user")
    return row


async def connection_name(s: OrmUnit, connection_id: str) -> str:
    return await store.connection_name(s, connection_id) or ""


async def connection_names(s: OrmUnit) -> dict[str, str]:
    return await store.connection_names(s)


def _check_email(email: str) -> str:
    if "@" not in email or email != email.strip() or any(c.isspace() for c in email):
        raise invalid("Payload validation error: 'email' is not a valid email address.")
    return email.lower()


def _check_metadata(data: dict[str, Any]) -> None:
    for key in ("user_metadata", "app_metadata"):
        if data.get(key) is not None and len(orjson.dumps(data[key])) > METADATA_LIMIT:
            raise invalid(f"Payload validation error: {key} is larger than {METADATA_LIMIT // 1024} KB.")


def _merge_metadata(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Auth0: root properties merge (``null`` deletes one); ``{}`` clears the object; nested objects replace."""
    if not patch:
        return {}
    merged = dict(current or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


async def create_user_from_body(
    rt: Runtime, s: OrmUnit, body: UserCreate, *, actor: str | None
) -> tuple[User, Connection]:
    _check_metadata(body.model_dump())
    row, conn = await create_user(
        rt,
        s,
        connection=body.connection,
        email=body.email,
        password=body.password,
        username=body.username,
        profile=body.model_dump(include=set(PROFILE_FIELDS), exclude_none=True),
        email_verified=bool(body.email_verified),
        blocked=bool(body.blocked),
        app_metadata=body.app_metadata,
        user_metadata=body.user_metadata,
        user_id=body.user_id,
    )
    audit.record(s, row.created_at, USER_CREATED, "User created", user_id=row.user_id, details={"actor": actor})
    return row, conn


async def update_user(
    rt: Runtime, s: OrmUnit, user_id: str, body: UserUpdate, *, actor: str | None
) -> tuple[User, str]:
    """PATCH a user; returns the row and its connection's name. ``null`` leaves a field as it is, except for
    profile fields (removed) and metadata keys (deleted)."""
    row = await get_user(s, user_id)
    conn_name = await connection_name(s, row.connection_id)
    data = body.model_dump(exclude_unset=True)
    _check_metadata(data)
    if data.get("connection") is not None and data["connection"] != conn_name:
        raise invalid(f"The user does not belong to the connection {data['connection'][:128]}.")
    if data.get("email") is not None:
        email = _check_email(data["email"])
        if email != row.email:
            if await store.email_taken(s, row, email):
                raise conflict("The specified new email already exists.", "user_exists")
            row.email, row.email_verified = email, False  # a new address is unverified unless said otherwise
    if data.get("username") is not None:
        if data["username"] != row.username and await store.username_taken(s, row, data["username"]):
            raise conflict("The specified new username already exists.", "user_exists")
        row.username = data["username"]
    if data.get("password") is not None:
        connection = await stored_connections.connection(s, row.connection_id)
        verdict = password_policy.check(connection.options if connection else None, data["password"])
        if not verdict.ok:
            raise invalid(verdict.message(), "invalid_password")
        row.password_hash = hash_password(data["password"])
    for flag in ("email_verified", "blocked"):
        if data.get(flag) is not None:
            setattr(row, flag, data[flag])
    profile = dict(row.profile or {})
    for key in PROFILE_FIELDS:
        if key in data:
            if data[key] is None:
                profile.pop(key, None)
            else:
                profile[key] = data[key]
    row.profile = profile
    for key in ("user_metadata", "app_metadata"):
        if data.get(key) is not None:
            setattr(row, key, _merge_metadata(getattr(row, key), data[key]))
    row.updated_at = rt.clock.now()
    audit.record(
        s,
        row.updated_at,
        USER_UPDATED,
        "User updated",
        user_id=row.user_id,
        details={"actor": actor, "fields": sorted(data)},
    )
    if not await write_unless_taken(s):
        raise conflict("The user already exists.", "user_exists")
    return row, conn_name


async def delete_user(rt: Runtime, s: OrmUnit, user_id: str, *, actor: str | None) -> None:
    """Delete a user with everything issued to them: grants, refresh tokens, sessions and codes."""
    row = await get_user(s, user_id)
    await store.remove_user(s, row)
    audit.record(s, rt.clock.now(), USER_DELETED, "User deleted", user_id=user_id, details={"actor": actor})
    await write_now(s)


def _check_terms(groups: list[list[Term]]) -> None:
    """``email_verified`` and ``blocked`` are searched for ``true`` or ``false`` only; any other value is a 400."""
    for term in (t for group in groups for t in group):
        if term.field in ("email_verified", "blocked") and term.value.lower() not in ("true", "false"):
            raise invalid(f"Query validation error: {term.field} must be true or false.", "invalid_query_string")


def _sort(sort: str | None) -> tuple[str, bool] | None:
    """``field:1`` or ``field:-1`` as (field, descending); None: by creation."""
    if not sort:
        return None
    field, _, direction = sort.partition(":")
    if field not in store.SORTABLE or direction not in ("1", "-1"):
        raise invalid("Query validation error: sort must be 'field:1' or 'field:-1'.", "invalid_query_string")
    return field, direction == "-1"


async def list_users(
    s: OrmUnit,
    *,
    offset: int,
    limit: int,
    q: str | None = None,
    connection: str | None = None,
    sort: str | None = None,
) -> tuple[list[User], int]:
    groups = parse_query(q, SEARCH_FIELDS) if q is not None and q.strip() else []
    _check_terms(groups)
    return await store.users_page(s, groups=groups, connection=connection, sort=_sort(sort), offset=offset, limit=limit)


async def users_by_email(s: OrmUnit, email: str) -> list[User]:
    return await store.users_with_email(s, email)
