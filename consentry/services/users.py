"""Users of database connections: create, read, update, delete, and their Auth0 JSON shape."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from consentry.clock import iso
from consentry.commands.users import UserCreate, UserUpdate
from consentry.login import password_policy
from consentry.login.passwords import hash_password
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.errors import conflict, invalid, not_found
from consentry.services.listing import Term, like_pattern, parse_query
from consentry.storage.models import AuthorizationCode, Connection, LoginSession, RefreshToken, User, UserGrant
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
SORT_COLUMNS = {
    "created_at": User.created_at,
    "updated_at": User.updated_at,
    "email": User.email,
    "user_id": User.user_id,
    "last_login": User.last_login,
    "logins_count": User.logins_count,
    "username": User.username,
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


async def connection_by_name(s: AsyncSession, name: str) -> Connection:
    conn = await s.scalar(select(Connection).where(Connection.name == name))
    if conn is None:
        raise invalid(f"The connection does not exist: {name[:128]}.", "inexistent_connection")
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
    if await _exists(s, conn.id, row.email, username, row.user_id):
        raise conflict("The user already exists.", "auth0_idp_error")
    s.add(row)
    try:
        await s.flush()
    except IntegrityError:
        raise conflict("The user already exists.", "auth0_idp_error") from None
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


async def connection_names(s: AsyncSession) -> dict[str, str]:
    return {cid: name for cid, name in (await s.execute(select(Connection.id, Connection.name))).all()}


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
    rt: Runtime, s: AsyncSession, body: UserCreate, *, actor: str | None
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
    rt: Runtime, s: AsyncSession, user_id: str, body: UserUpdate, *, actor: str | None
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
            if await _taken(s, row, User.email == email):
                raise conflict("The specified new email already exists.", "user_exists")
            row.email, row.email_verified = email, False  # a new address is unverified unless said otherwise
    if data.get("username") is not None:
        if data["username"] != row.username and await _taken(s, row, User.username == data["username"]):
            raise conflict("The specified new username already exists.", "user_exists")
        row.username = data["username"]
    if data.get("password") is not None:
        connection = await s.get(Connection, row.connection_id)
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
    try:
        await s.flush()
    except IntegrityError:
        raise conflict("The user already exists.", "user_exists") from None
    return row, conn_name


async def _taken(s: AsyncSession, row: User, condition: Any) -> bool:
    found = await s.scalar(
        select(User.user_id).where(User.connection_id == row.connection_id, User.user_id != row.user_id, condition)
    )
    return found is not None


async def delete_user(rt: Runtime, s: AsyncSession, user_id: str, *, actor: str | None) -> None:
    """Delete a user with everything issued to them: grants, refresh tokens, sessions and codes."""
    row = await get_user(s, user_id)
    for model in (UserGrant, RefreshToken, LoginSession, AuthorizationCode):
        await s.execute(delete(model).where(model.user_id == user_id))
    await s.delete(row)
    audit.record(s, rt.clock.now(), USER_DELETED, "User deleted", user_id=user_id, details={"actor": actor})
    await s.flush()


def _lower_match(column: Any, term: Term, *, substring: bool = False) -> Any:
    if term.wildcard or substring:
        return func.lower(column).like(
            like_pattern(Term(term.field, term.value.lower(), term.wildcard), substring=substring), escape="\\"
        )
    return func.lower(column) == term.value.lower()


def _term_clause(term: Term) -> Any:
    """One search term as a parameterized SQL condition (values never reach the SQL text)."""
    name = User.profile["name"].as_string()
    field = term.field
    if field is None:  # a bare term: substring of email, name or username
        return or_(*(_lower_match(c, term, substring=True) for c in (User.email, name, User.username)))
    if field == "email":
        return _lower_match(User.email, term)
    if field == "username":
        return _lower_match(User.username, term)
    if field == "name":
        return or_(_lower_match(name, term), and_(name.is_(None), _lower_match(User.email, term)))
    if field == "nickname":
        return _lower_match(User.profile["nickname"].as_string(), term)
    if field == "user_id":
        return User.user_id.like(like_pattern(term), escape="\\") if term.wildcard else User.user_id == term.value
    if field in ("email_verified", "blocked"):
        if term.value.lower() not in ("true", "false"):
            raise invalid(f"Query validation error: {field} must be true or false.", "invalid_query_string")
        return getattr(User, field) == (term.value.lower() == "true")
    names = select(Connection.id).where(Connection.name == term.value)  # identities.connection / connection
    return User.connection_id.in_(names)


def _sort(sort: str | None) -> list[Any]:
    if not sort:
        return [User.created_at, User.user_id]
    field, _, direction = sort.partition(":")
    column = SORT_COLUMNS.get(field)
    if column is None or direction not in ("1", "-1"):
        raise invalid("Query validation error: sort must be 'field:1' or 'field:-1'.", "invalid_query_string")
    return [column.desc() if direction == "-1" else column.asc(), User.user_id]


async def list_users(
    s: AsyncSession,
    *,
    offset: int,
    limit: int,
    q: str | None = None,
    connection: str | None = None,
    sort: str | None = None,
) -> tuple[list[User], int]:
    query = select(User)
    if q is not None and q.strip():
        groups = parse_query(q, SEARCH_FIELDS)
        query = query.where(or_(*(and_(*(_term_clause(t) for t in group)) for group in groups)))
    if connection is not None:
        query = query.where(_term_clause(Term("connection", connection)))
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await s.scalars(query.order_by(*_sort(sort)).offset(offset).limit(limit))
    return list(rows.all()), total


async def users_by_email(s: AsyncSession, email: str) -> list[User]:
    rows = await s.scalars(select(User).where(func.lower(User.email) == email.lower()).order_by(User.created_at))
    return list(rows.all())
