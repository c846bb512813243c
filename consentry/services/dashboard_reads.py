"""Read models for the dashboard pages: a user's connected apps, users, logs, overview counts, client grants.
Reads only.

Writes never happen here: every change goes through ``consentry.services`` (the Management API's code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from consentry.config_records import ClientInfo
from consentry.consent import display
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.services.consent_receipts import latest_receipts
from consentry.storage import dashboard_reads as stored
from consentry.storage import refresh_tokens
from consentry.storage.dashboard_reads import Overview as Overview
from consentry.storage.dashboard_reads import client_grants_with_apps as client_grants_with_apps
from consentry.storage.dashboard_reads import default_user_grant_id as default_user_grant_id
from consentry.storage.models import Client, ClientGrant, ResourceServer, User
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


async def connected_apps(rt: Runtime, user_id: str) -> list[ConnectedApp]:
    """The applications a user has authorized, oldest consent first, with the consent screen's wording."""
    now = rt.clock.now()
    async with rt.db.read() as s:
        rows = await stored.grants_with_clients(s, user_id)
        grant_ids = [g.id for g, _ in rows]
        live: dict[str, int] = await stored.live_refresh_tokens(s, grant_ids, now) if grant_ids else {}
        latest: dict[str, float] = await stored.last_refresh_issued(s, grant_ids) if grant_ids else {}
        receipts = await latest_receipts(s, grant_ids)
        families = await refresh_tokens.live_families(s, grant_ids, now)
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
    return await stored.has_event_since(
        rt.db, user_id=user_id, client_id=client_id, type_=audit.GRANT_REVOKED, since=since
    )


async def api_rows(rt: Runtime) -> dict[str, ResourceServer]:
    return {r.identifier: r for r in await stored.apis_by_creation(rt.db)}


async def app_grants(rt: Runtime, client: Client) -> dict[str, Any]:
    """The application page's "API access": its own grants, the defaults it inherits, the APIs it can add."""
    apis = await api_rows(rt)
    own, defaults = await stored.own_and_default_grants(rt.db, client.client_id)
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
    clients, people = await stored.names(rt.db, client_ids, user_ids)
    return {c: n for c, n in clients}, {u: e or n or u for u, e, n in people}


async def overview(rt: Runtime) -> Overview:
    return await stored.overview(rt.db)


async def users(rt: Runtime, q: str, *, offset: int, limit: int) -> tuple[list[tuple[User, str]], int]:
    """Users with their connection name; ``q`` matches the email, username or user id (substring)."""
    like = f"%{q.lower().replace('%', '').replace('_', '')}%" if q else None
    return await stored.users_page(rt.db, like, offset=offset, limit=limit)


async def user(rt: Runtime, user_id: str) -> tuple[User, str] | None:
    if len(user_id) > 255:
        return None
    return await stored.user_with_connection(rt.db, user_id)
