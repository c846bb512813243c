"""Dashboard: users, and their **Authorized Applications** tab where an admin revokes grants (SPEC C8).

Revoking calls ``consentry.services.user_grants.revoke_grant`` (as ``DELETE /api/v2/grants/{id}``): the
grant and every refresh token issued under it are revoked in one transaction, with a ``grant.revoked`` event.
The tab shows what ``/u/apps`` shows the user (registration, expiry, last use, devices); the admin may also take
back one permission or sign out one device (``consentry.services.app_access``), as the user can.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.admin import guard
from consentry.admin.forms import Errors, Submitted, service_errors, values_of
from consentry.admin.pages import INVALID, found, page, record, redirect
from consentry.services import app_access, dashboard_reads, organization_access, user_grants
from consentry.services.errors import ServiceError, not_found
from consentry.services.users import create_user
from consentry.storage.models import User
from consentry.web import client_ip

router = APIRouter(prefix="/admin/users", include_in_schema=False)
Admin = Annotated[guard.Viewer, Depends(guard.admin)]
SECTION = "admin/users"
PER_PAGE = 50
FIELDS = ("email", "password", "username", "name", "connection")


async def _database_connections(who: guard.Viewer) -> list[str]:
    return [c.name for c in await who.rt.catalog.connections() if c.strategy == "auth0"]


@router.get("")
async def list_users(
    request: Request,
    who: Admin,
    q: str = Query("", max_length=200),
    page_no: int = Query(0, alias="page", ge=0, le=100_000),
) -> Response:
    rows, total = await dashboard_reads.users(who.rt, q.strip(), offset=page_no * PER_PAGE, limit=PER_PAGE)
    return page(
        request,
        who,
        "admin/users_list.html",
        section=SECTION,
        title="Users",
        users=rows,
        total=total,
        q=q,
        page_no=page_no,
        per_page=PER_PAGE,
    )


async def _new_form(
    request: Request, who: guard.Viewer, values: dict[str, str], errors: Errors | None = None, status: int = 200
) -> Response:
    return page(
        request,
        who,
        "admin/user_new.html",
        section=SECTION,
        title="Create user",
        status=status,
        errors=errors,
        v=values,
        connections=await _database_connections(who),
    )


@router.get("/new")
async def new_user(request: Request, who: Admin) -> Response:
    tenant = await who.rt.catalog.tenant()
    values = {name: "" for name in FIELDS} | {"connection": tenant.get("default_directory", ""), "is_admin": ""}
    return await _new_form(request, who, values)


@router.post("/new")
async def create(request: Request, who: Admin) -> Response:
    form = Submitted(await guard.check_csrf(request, who))
    rt = who.rt
    values = values_of(form, FIELDS) | {"is_admin": "1" if form.checked("is_admin") else ""}
    values.pop("password")  # never echoed back into the page
    errors: Errors = {}
    if not form.text("email"):
        errors["email"] = "Enter the user's email address."
    if not form.data.get("password", [""])[0]:
        errors["password"] = "Enter a password."
    if not errors:
        try:
            async with rt.db.transaction() as s:
                row, _ = await create_user(
                    rt,
                    s,
                    connection=form.text("connection"),
                    email=form.text("email"),
                    password=form.data["password"][0],
                    username=form.optional("username"),
                    profile={"name": form.optional("name")},
                    is_admin=form.checked("is_admin"),
                )
                record(
                    s,
                    who,
                    "user.created",
                    f"User '{row.email}' created",
                    user_id=row.user_id,
                    ip=client_ip(request),
                    is_admin=row.is_admin,
                )
        except ServiceError as err:
            errors = service_errors(err, FIELDS)
    if errors:
        return await _new_form(request, who, {**values, "password": ""}, errors, INVALID)
    return redirect(rt, f"admin/users/{row.user_id}", "user-created")


async def _user(who: guard.Viewer, user_id: str) -> tuple[User, str]:
    found_user = await dashboard_reads.user(who.rt, user_id)
    if found_user is None:
        raise guard.PageNotFound("The user does not exist.")
    return found_user


@router.get("/{user_id}")
async def show_user(request: Request, who: Admin, user_id: str) -> Response:
    user, connection = await _user(who, user_id)
    return page(
        request,
        who,
        "admin/user_detail.html",
        section=SECTION,
        title=f"User {user_id}",
        user=user,
        connection=connection,
        tab="details",
    )


@router.get("/{user_id}/authorized-applications")
async def authorized_applications(request: Request, who: Admin, user_id: str) -> Response:
    user, connection = await _user(who, user_id)
    apps = await dashboard_reads.connected_apps(who.rt, user_id)
    agents = await organization_access.acted_for(who.rt, user_id)
    return page(
        request,
        who,
        "admin/user_detail.html",
        section=SECTION,
        title=f"User {user_id}",
        user=user,
        connection=connection,
        tab="apps",
        apps=apps,
        acted_for=agents,
    )


@router.post("/{user_id}/grants/{grant_id}/revoke")
async def revoke(request: Request, who: Admin, user_id: str, grant_id: str) -> Response:
    await guard.check_csrf(request, who)
    rt = who.rt
    with found():
        async with rt.db.transaction() as s:
            grant = await user_grants.get_grant(s, grant_id)
            if grant.user_id != user_id:
                raise not_found("grant", "inexistent_grant")
            await user_grants.revoke_grant(rt, s, grant_id, actor=who.user_id, ip=client_ip(request))
    return redirect(rt, f"admin/users/{user_id}/authorized-applications", "revoked")


@router.post("/{user_id}/grants/{grant_id}/revoke-scope")
async def revoke_scope(request: Request, who: Admin, user_id: str, grant_id: str) -> Response:
    form = Submitted(await guard.check_csrf(request, who))
    scopes = [sc for sc in form.data.get("scope", []) if sc][:20]
    with found():
        async with who.rt.db.transaction() as s:
            await app_access.revoke_scopes(
                who.rt, s, user_id=user_id, grant_id=grant_id, scopes=scopes, actor=who.user_id, ip=client_ip(request)
            )
    return redirect(who.rt, f"admin/users/{user_id}/authorized-applications", "scope-revoked")


@router.post("/{user_id}/devices/{family_id}/revoke")
async def revoke_device(request: Request, who: Admin, user_id: str, family_id: str) -> Response:
    await guard.check_csrf(request, who)
    with found():
        async with who.rt.db.transaction() as s:
            await app_access.revoke_device(
                who.rt, s, user_id=user_id, family_id=family_id, actor=who.user_id, ip=client_ip(request)
            )
    return redirect(who.rt, f"admin/users/{user_id}/authorized-applications", "device-revoked")
