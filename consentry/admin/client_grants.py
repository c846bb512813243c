"""Dashboard: client grants, per application and the defaults for every third-party application (SPEC T7, T8).

Changes go through ``consentry.services.client_grants`` (as ``/api/v2/client-grants``); that service does
not write audit events, so the dashboard records ``client_grant.*`` events in the same transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from consentry.admin import guard
from consentry.admin.applications import detail_page
from consentry.admin.forms import FORM_ERROR, Errors, Submitted, service_errors, validation_errors
from consentry.admin.pages import INVALID, found, page, record, redirect
from consentry.commands.client_grants import ClientGrantCreate, ClientGrantUpdate
from consentry.config_records import THIRD_PARTY_DEFAULT
from consentry.services import client_grants as service
from consentry.services import dashboard_reads
from consentry.services.clients import get_client
from consentry.services.dashboard_reads import GrantView, api_rows
from consentry.services.errors import Kind, ServiceError
from consentry.web import client_ip

router = APIRouter(prefix="/admin", include_in_schema=False)
Admin = Annotated[guard.Viewer, Depends(guard.admin)]
SUBJECT_TYPES = (
    ("user", "User (authorization code: acting for a signed-in user)"),
    ("client", "Client (client credentials: acting as itself)"),
)


def _scopes(form: Submitted) -> dict[str, Any]:
    return {"scope": form.many("scope"), "allow_all_scopes": form.checked("allow_all_scopes")}


def _needs_scope(values: dict[str, Any]) -> Errors:
    if not values["scope"] and not values["allow_all_scopes"]:
        return {"scope": "Choose at least one scope (or allow all scopes)."}
    return {}


@router.get("/applications/{client_id:path}/grants/new")
async def new_grant(request: Request, who: Admin, client_id: str, audience: str = "") -> Response:
    return await _grant_form(request, who, client_id, audience, {"subject_type": "user", "scope": []})


async def _grant_form(
    request: Request,
    who: guard.Viewer,
    client_id: str,
    audience: str,
    v: dict[str, Any],
    errors: Errors | None = None,
    status: int = 200,
) -> Response:
    with found():
        async with who.rt.db.read() as s:
            client = await get_client(s, client_id)
    api = (await api_rows(who.rt)).get(audience)
    if api is None:
        raise guard.PageNotFound("Choose an API to authorize: the resource server does not exist.")
    return page(
        request,
        who,
        "admin/grant_new.html",
        section="admin/applications",
        title=f"API access for {client.name}",
        status=status,
        errors=errors,
        app=client,
        api=api,
        v=v,
        subject_types=SUBJECT_TYPES,
    )


@router.post("/applications/{client_id:path}/grants/new")
async def create_grant(request: Request, who: Admin, client_id: str) -> Response:
    form = Submitted(await guard.check_csrf(request, who))
    rt, audience = who.rt, form.text("audience")
    v = {"subject_type": form.text("subject_type") or "user", **_scopes(form)}
    errors = _needs_scope(v)
    try:
        if not errors:
            body = ClientGrantCreate(
                client_id=client_id,
                audience=audience,
                subject_type=v["subject_type"],
                scope=v["scope"],
                allow_all_scopes=v["allow_all_scopes"],
            )
            async with rt.db.transaction() as s:
                row = await service.create_client_grant(rt, s, body)
                record(
                    s,
                    who,
                    "client_grant.created",
                    f"Client grant for '{audience}' created",
                    client_id=client_id,
                    ip=client_ip(request),
                    grant_id=row.id,
                    audience=audience,
                    scope=row.scope,
                )
    except ValidationError as exc:
        errors = validation_errors(exc)
    except ServiceError as err:
        if err.kind is Kind.NOT_FOUND:
            errors = {FORM_ERROR: err.message}
        else:
            errors = service_errors(err, ("scope", "subject_type"))
    if errors:
        return await _grant_form(request, who, client_id, audience, v, errors, INVALID)
    return redirect(rt, f"admin/applications/{client_id}", "grant-created")


@router.post("/applications/{client_id:path}/grants/{grant_id}")
async def update_grant(request: Request, who: Admin, client_id: str, grant_id: str) -> Response:
    form = Submitted(await guard.check_csrf(request, who))
    values = _scopes(form)
    errors = _needs_scope(values)
    if not errors:
        errors = await _update(request, who, grant_id, values)
    if errors:
        message = errors.get("scope") or errors.get(FORM_ERROR, "")
        return await detail_page(request, who, client_id, status=INVALID, errors={f"grant-{grant_id}": message})
    return redirect(who.rt, f"admin/applications/{client_id}", "grant-saved")


async def _update(request: Request, who: guard.Viewer, grant_id: str, values: dict[str, Any]) -> Errors:
    rt = who.rt
    try:
        async with rt.db.transaction() as s:
            row = await service.update_client_grant(rt, s, grant_id, ClientGrantUpdate(**values))
            record(
                s,
                who,
                "client_grant.updated",
                f"Client grant for '{row.audience}' updated",
                client_id=row.client_id,
                ip=client_ip(request),
                grant_id=row.id,
                scope=row.scope,
                allow_all_scopes=row.allow_all_scopes,
            )
    except ServiceError as err:
        return service_errors(err, ("scope",))
    return {}


async def _delete(request: Request, who: guard.Viewer, grant_id: str) -> None:
    rt = who.rt
    with found():
        async with rt.db.transaction() as s:
            row = await service.get_client_grant(s, grant_id)
            await service.delete_client_grant(rt, s, grant_id)
            record(
                s,
                who,
                "client_grant.deleted",
                f"Client grant for '{row.audience}' deleted",
                client_id=row.client_id,
                ip=client_ip(request),
                grant_id=grant_id,
                default_for=row.default_for,
            )


@router.post("/applications/{client_id:path}/grants/{grant_id}/delete")
async def delete_grant(request: Request, who: Admin, client_id: str, grant_id: str) -> Response:
    await guard.check_csrf(request, who)
    await _delete(request, who, grant_id)
    return redirect(who.rt, f"admin/applications/{client_id}", "grant-deleted")


async def _overview(
    request: Request,
    who: guard.Viewer,
    *,
    errors: Errors | None = None,
    submitted: dict[str, dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    apis = await api_rows(who.rt)
    async with who.rt.db.read() as s:
        rows = await dashboard_reads.client_grants_with_apps(s)
    per_app = [GrantView(g, apis.get(g.audience), c) for g, c in rows if g.client_id]
    defaults = {g.audience: g for g, _ in rows if g.default_for == THIRD_PARTY_DEFAULT and g.subject_type == "user"}
    forms = []
    for api in apis.values():
        if api.is_system:
            continue
        current = defaults.get(api.identifier)
        v = (submitted or {}).get(api.identifier) or (
            {"scope": list(current.scope or []), "allow_all_scopes": current.allow_all_scopes}
            if current
            else {"scope": [], "allow_all_scopes": False}
        )
        forms.append({"api": api, "current": current, "v": v})
    return page(
        request,
        who,
        "admin/client_grants.html",
        section="admin/client-grants",
        title="Client grants",
        status=status,
        errors=errors,
        per_app=per_app,
        defaults=forms,
    )


@router.get("/client-grants")
async def client_grants(request: Request, who: Admin) -> Response:
    return await _overview(request, who)


@router.post("/client-grants/defaults")
async def save_defaults(request: Request, who: Admin) -> Response:
    """Create or update the ``default_for: third_party_clients`` user grant of one API."""
    form = Submitted(await guard.check_csrf(request, who))
    rt, audience = who.rt, form.text("audience")
    values = _scopes(form)
    errors = _needs_scope(values)
    async with rt.db.read() as s:
        current = await dashboard_reads.default_user_grant_id(s, audience)
    if not errors and current:
        errors = await _update(request, who, current, values)
    elif not errors:
        try:
            body = ClientGrantCreate.model_validate(
                {"default_for": THIRD_PARTY_DEFAULT, "audience": audience, "subject_type": "user", **values}
            )
            async with rt.db.transaction() as s:
                row = await service.create_client_grant(rt, s, body)
                record(
                    s,
                    who,
                    "client_grant.created",
                    f"Default client grant for '{audience}' created",
                    ip=client_ip(request),
                    grant_id=row.id,
                    default_for=THIRD_PARTY_DEFAULT,
                    scope=row.scope,
                )
        except ServiceError as err:
            errors = {"scope": err.message}
    if errors:
        message = errors.get("scope") or errors.get(FORM_ERROR, "")
        return await _overview(
            request, who, errors={f"defaults-{audience}": message}, submitted={audience: values}, status=INVALID
        )
    return redirect(rt, "admin/client-grants", "defaults-saved")


@router.post("/client-grants/{grant_id}/delete")
async def delete_any_grant(request: Request, who: Admin, grant_id: str) -> Response:
    await guard.check_csrf(request, who)
    await _delete(request, who, grant_id)
    return redirect(who.rt, "admin/client-grants", "grant-deleted")
