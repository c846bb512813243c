"""Read models for the dashboard pages: a user's connected apps, users, logs, overview counts, client grants.
Reads only.

Writes never happen here: every change goes through ``consentry.services`` (the Management API's code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from consentry.config_records import THIRD_PARTY_DEFAULT, ClientInfo
from consentry.consent import display
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.consent_receipts import latest_receipts
from consentry.storage import refresh_tokens
from consentry.storage.models import (
    AuditEvent,
    Client,
    ClientGrant,
    Connection,
    RefreshToken,
    ResourceServer,
    User,
    UserGrant,
)
from consentry.storage.refresh_tokens import LiveFamily
from consentry.tenant import flag

OFFLINE = "offline_access"
REVOKED_NOTICE_SECONDS = 600  # how long after a revocation /u/apps may still confirm it


@dataclass(frozen=True)
class ConnectedApi:
    """One grant: what the user allowed the app to do with one API."""

    grant_id: str
    audience: str
    api_name: str
    lines: list[display.PermissionLine]
    scopes: list[str]
    granted_at: float
    updated_at: float
    last_used_at: float | None
    refresh_tokens: int
    expires_at: float | None = None  # the end of the access the user chose (None: until revoked)
    receipt_id: str | None = None  # the newest signed consent receipt of this grant
    devices: tuple[LiveFamily, ...] = ()  # refresh-token families with a live token, newest use first


@dataclass
class ConnectedApp:
    """One card of the connected-apps page: an application and every grant the user gave it."""

    client: ClientInfo
    registration: str
    apis: list[ConnectedApi] = field(default_factory=list)

    @property
    def granted_at(self) -> float:
        return min(a.granted_at for a in self.apis)

    @property
    def last_used_at(self) -> float | None:
        used = [a.last_used_at for a in self.apis if a.last_used_at]
        return max(used) if used else None

    @property
    def refresh_tokens(self) -> int:
        return sum(a.refresh_tokens for a in self.apis)

    @property
    def devices(self) -> list[LiveFamily]:
        """Every live refresh-token family of the app, newest use first."""
        return sorted((d for a in self.apis for d in a.devices), key=lambda d: -d.last_used_at)

    @property
    def offline_requested(self) -> bool:
        return any(OFFLINE in a.scopes for a in self.apis)


async def _token_usage(s: AsyncSession, grant_ids: list[str], now: float) -> tuple[dict[str, int], dict[str, float]]:
    """Per grant: live refresh tokens, and the latest refresh-token issue (a refresh is a use of the grant)."""
    if not grant_ids:
        return {}, {}
    live = await s.execute(
        select(RefreshToken.grant_id, func.count())
        .where(
            RefreshToken.grant_id.in_(grant_ids),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.rotated_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .group_by(RefreshToken.grant_id)
    )
    latest = await s.execute(
        select(RefreshToken.grant_id, func.max(RefreshToken.created_at))
        .where(RefreshToken.grant_id.in_(grant_ids))
        .group_by(RefreshToken.grant_id)
    )
    return ({g: int(n) for g, n in live.all() if g}, {g: float(t) for g, t in latest.all() if g and t is not None})


async def connected_apps(rt: Runtime, user_id: str) -> list[ConnectedApp]:
    """The applications a user has authorized, oldest consent first, with the consent screen's wording."""
    now = rt.clock.now()
    async with rt.db.read() as s:
        rows = (
            await s.execute(
                select(UserGrant, Client)
                .join(Client, Client.client_id == UserGrant.client_id)
                .where(UserGrant.user_id == user_id)
                .order_by(UserGrant.created_at, UserGrant.id)
            )
        ).all()
        live, latest = await _token_usage(s, [g.id for g, _ in rows], now)
        receipts = await latest_receipts(s, [g.id for g, _ in rows])
        families = await refresh_tokens.live_families(s, [g.id for g, _ in rows], now)
    devices: dict[str, list[LiveFamily]] = {}
    for family in families:
        devices.setdefault(family.grant_id, []).append(family)
    use_descriptions = flag(await rt.catalog.tenant(), "use_scope_descriptions_for_consent")
    apps: dict[str, ConnectedApp] = {}
    for grant, client_row in rows:
        info = ClientInfo.from_row(client_row)
        app = apps.setdefault(info.client_id, ConnectedApp(info, display.registration_label(info)))
        scopes = list(grant.scope or [])
        api = await rt.catalog.api(grant.audience)
        lines = display.identity_lines(scopes)
        api_scopes = [sc for sc in scopes if sc not in display.IDENTITY_SCOPES and sc != OFFLINE]
        if api is not None and api_scopes:
            lines += display.permission_lines(api, api_scopes, use_descriptions=use_descriptions)
        elif api_scopes:
            lines += [display.PermissionLine(sc, "", (sc,), False) for sc in api_scopes]
        used = [t for t in (grant.last_used_at, latest.get(grant.id)) if t]
        name = (
            api.name
            if api
            else ("Sign-in (identity)" if grant.audience == rt.settings.userinfo_audience else grant.audience)
        )
        app.apis.append(
            ConnectedApi(
                grant.id,
                grant.audience,
                name,
                lines,
                scopes,
                grant.created_at,
                grant.updated_at,
                max(used) if used else None,
                live.get(grant.id, 0),
                grant.expires_at,
                receipts.get(grant.id),
                tuple(devices.get(grant.id, ())),
            )
        )
    return list(apps.values())


@dataclass(frozen=True)
class GrantView:
    row: ClientGrant
    api: ResourceServer | None
    client: Client | None

    @property
    def api_name(self) -> str:
        return self.api.name if self.api else self.row.audience

    @property
    def api_scopes(self) -> list[dict[str, Any]]:
        return list(self.api.scopes or []) if self.api else []


async def revoked_recently(rt: Runtime, user_id: str, client_id: str) -> bool:
    """Whether this user revoked a grant of this app in the last ``REVOKED_NOTICE_SECONDS`` (from the audit log),
    so that the confirmation notice on ``/u/apps`` speaks only of the signed-in user's own revocations."""
    since = rt.clock.now() - REVOKED_NOTICE_SECONDS
    query = select(AuditEvent.log_id).where(
        AuditEvent.user_id == user_id,
        AuditEvent.client_id == client_id,
        AuditEvent.type == audit.GRANT_REVOKED,
        AuditEvent.date >= since,
    )
    async with rt.db.read() as s:
        return await s.scalar(query.limit(1)) is not None


async def api_rows(rt: Runtime) -> dict[str, ResourceServer]:
    async with rt.db.read() as s:
        rows = (await s.scalars(select(ResourceServer).order_by(ResourceServer.created_at))).all()
    return {r.identifier: r for r in rows}


async def app_grants(rt: Runtime, client: Client) -> dict[str, Any]:
    """The application page's "API access": its own grants, the defaults it inherits, the APIs it can add."""
    apis = await api_rows(rt)
    async with rt.db.read() as s:
        own = (
            await s.scalars(
                select(ClientGrant).where(ClientGrant.client_id == client.client_id).order_by(ClientGrant.created_at)
            )
        ).all()
        defaults = (await s.scalars(select(ClientGrant).where(ClientGrant.default_for == THIRD_PARTY_DEFAULT))).all()
    own_user = {g.audience for g in own if g.subject_type == "user"}
    inherited = [
        GrantView(g, apis.get(g.audience), None)
        for g in defaults
        if not client.is_first_party and g.audience not in own_user
    ]
    addable = [a for a in apis.values() if client.is_first_party or not a.is_system]
    return {
        "own": [GrantView(g, apis.get(g.audience), client) for g in own],
        "inherited": inherited,
        "addable": addable,
    }


async def names(rt: Runtime, client_ids: set[str], user_ids: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Application names and user emails for a page of log events (ids of deleted objects stay unnamed)."""
    async with rt.db.read() as s:
        clients = (await s.execute(select(Client.client_id, Client.name).where(Client.client_id.in_(client_ids)))).all()
        people = (
            await s.execute(select(User.user_id, User.email, User.username).where(User.user_id.in_(user_ids)))
        ).all()
    return {c: n for c, n in clients}, {u: e or n or u for u, e, n in people}


@dataclass(frozen=True)
class Overview:
    applications: int
    third_party: int
    apis: int
    default_grants: int
    domain_connections: int
    users: int
    grants: int
    pending_registrations: int


async def overview(rt: Runtime) -> Overview:
    async with rt.db.read() as s:

        async def count(query: object) -> int:
            return int(await s.scalar(query) or 0)  # type: ignore[call-overload]

        return Overview(
            applications=await count(select(func.count()).select_from(Client)),
            third_party=await count(select(func.count()).select_from(Client).where(Client.is_first_party.is_(False))),
            apis=await count(
                select(func.count()).select_from(ResourceServer).where(ResourceServer.is_system.is_(False))
            ),
            default_grants=await count(
                select(func.count()).select_from(ClientGrant).where(ClientGrant.default_for.is_not(None))
            ),
            domain_connections=await count(
                select(func.count()).select_from(Connection).where(Connection.is_domain_connection.is_(True))
            ),
            users=await count(select(func.count()).select_from(User)),
            grants=await count(select(func.count()).select_from(UserGrant)),
            pending_registrations=await count(
                select(func.count()).select_from(Client).where(Client.status == "pending")
            ),
        )


async def users(rt: Runtime, q: str, *, offset: int, limit: int) -> tuple[list[tuple[User, str]], int]:
    """Users with their connection name; ``q`` matches the email, username or user id (substring)."""
    query = select(User, Connection.name).join(Connection, Connection.id == User.connection_id)
    if q:
        like = f"%{q.lower().replace('%', '').replace('_', '')}%"
        query = query.where(
            or_(func.lower(User.email).like(like), func.lower(User.username).like(like), User.user_id.like(like))
        )
    async with rt.db.read() as s:
        total = int(await s.scalar(select(func.count()).select_from(query.subquery())) or 0)
        rows = (await s.execute(query.order_by(User.created_at, User.user_id).offset(offset).limit(limit))).all()
    return [(u, name) for u, name in rows], total


async def user(rt: Runtime, user_id: str) -> tuple[User, str] | None:
    if len(user_id) > 255:
        return None
    async with rt.db.read() as s:
        found = (
            await s.execute(
                select(User, Connection.name)
                .join(Connection, Connection.id == User.connection_id)
                .where(User.user_id == user_id)
            )
        ).first()
    return (found[0], found[1]) if found else None


async def client_grants_with_apps(
    s: AsyncSession, audience: str | None = None
) -> list[tuple[ClientGrant, Client | None]]:
    """Every client grant (of one API when ``audience`` is given) with its application (None for a default), oldest
    first."""
    query = select(ClientGrant, Client).outerjoin(Client, Client.client_id == ClientGrant.client_id)
    if audience is not None:
        query = query.where(ClientGrant.audience == audience)
    return [(g, c) for g, c in (await s.execute(query.order_by(ClientGrant.created_at))).all()]


async def default_user_grant_id(s: AsyncSession, audience: str) -> str | None:
    """The ``default_for: third_party_clients`` user-flow grant of one API, if any."""
    return await s.scalar(
        select(ClientGrant.id).where(
            ClientGrant.default_for == THIRD_PARTY_DEFAULT,
            ClientGrant.audience == audience,
            ClientGrant.subject_type == "user",
        )
    )
