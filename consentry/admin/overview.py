"""Dashboard: the overview (the third-party setup checklist), dynamic registrations, and the logs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.admin import guard
from consentry.admin.forms import FORM_ERROR
from consentry.admin.pages import found, page, redirect
from consentry.services import dashboard_reads, dcr_admin, dcr_prune, logs
from consentry.services.errors import ServiceError
from consentry.tenant import flag

router = APIRouter(prefix="/admin", include_in_schema=False)
Admin = Annotated[guard.Viewer, Depends(guard.admin)]
PER_PAGE = 50
STALE_LISTED = 100  # expired pending registrations named on the page (the count says how many in all)
LOG_SHORTCUTS = ("grant.revoked", "consent.given", "consent.declined", "client.created", "s", "f")


@router.get("")
async def index(request: Request, who: Admin) -> Response:
    counts = await dashboard_reads.overview(who.rt)
    tenant = await who.rt.catalog.tenant()
    steps = (
        ("Register an API with its scopes (e.g. read:posts, write:posts)", counts.apis > 0, "admin/apis/new"),
        ("Create a third-party application", counts.third_party > 0, "admin/applications/new?party=third"),
        (
            "Authorize it with a client grant, or set default permissions for every third-party app",
            counts.default_grants > 0,
            "admin/client-grants",
        ),
        (
            "Promote a connection to the domain level (third-party apps sign users in only there)",
            counts.domain_connections > 0,
            "admin/connections",
        ),
        (
            "Optional: show scope descriptions on the consent screen",
            flag(tenant, "use_scope_descriptions_for_consent"),
            "admin/settings",
        ),
    )
    return page(request, who, "admin/index.html", section="admin", title="Overview", counts=counts, steps=steps)


@router.get("/registrations")
async def registrations(
    request: Request,
    who: Admin,
    status: str = Query("", max_length=16),
    page_no: int = Query(0, alias="page", ge=0, le=100_000),
) -> Response:
    wanted = status if status in dcr_admin.STATUS_FILTERS else None
    rows, total = await dcr_admin.list_registrations(who.rt, status=wanted, offset=page_no * PER_PAGE, limit=PER_PAGE)
    stale = await dcr_prune.prune(who.rt, dry_run=True, listed=STALE_LISTED)
    return page(
        request,
        who,
        "admin/registrations.html",
        section="admin/registrations",
        title="Dynamic registrations",
        rows=rows,
        total=total,
        filter_status=wanted or "",
        stale=stale[:STALE_LISTED],
        stale_total=await dcr_prune.count(who.rt, stale),
        page_no=page_no,
        per_page=PER_PAGE,
        dcr_enabled=flag(await who.rt.catalog.tenant(), "enable_dynamic_client_registration"),
    )


@router.post("/registrations/{client_id}/approve")
async def approve(request: Request, who: Admin, client_id: str) -> Response:
    await guard.check_csrf(request, who)
    with found():
        await dcr_admin.approve(who.rt, client_id, who.user_id)
    return redirect(who.rt, "admin/registrations", "approved", status="pending")


@router.post("/registrations/{client_id}/reject")
async def reject(request: Request, who: Admin, client_id: str) -> Response:
    """Delete a registration awaiting approval (no user ever saw it)."""
    await guard.check_csrf(request, who)
    try:
        with found():
            await dcr_admin.reject(who.rt, client_id, who.user_id)
    except ServiceError:  # approved meanwhile
        return redirect(who.rt, "admin/registrations", "not-pending", status="pending")
    return redirect(who.rt, "admin/registrations", "rejected", status="pending")


@router.post("/registrations/prune")
async def prune(request: Request, who: Admin) -> Response:
    """Remove the unused registrations listed on the page now (each removal writes a ``client.pruned`` event)."""
    await guard.check_csrf(request, who)
    await dcr_prune.prune(who.rt, dry_run=False)
    return redirect(who.rt, "admin/registrations", "pruned")


@router.get("/logs")
async def show_logs(
    request: Request,
    who: Admin,
    q: str = Query("", max_length=500),
    page_no: int = Query(0, alias="page", ge=0, le=100_000),
) -> Response:
    errors: dict[str, str] = {}
    await who.rt.mint_log.flush()
    try:
        async with who.rt.db.read() as s:
            rows, total = await logs.list_logs(s, offset=page_no * PER_PAGE, limit=PER_PAGE, q=q or None)
    except ServiceError as err:
        rows, total, errors = [], 0, {"q": err.message, FORM_ERROR: ""}
    users = {e.user_id for e in rows if e.user_id} | {str(a) for e in rows if (a := (e.details or {}).get("actor"))}
    apps, people = await dashboard_reads.names(who.rt, {e.client_id for e in rows if e.client_id}, users)
    return page(
        request,
        who,
        "admin/logs.html",
        section="admin/logs",
        title="Logs",
        status=200,
        errors=errors,
        rows=rows,
        total=total,
        q=q,
        page_no=page_no,
        per_page=PER_PAGE,
        shortcuts=LOG_SHORTCUTS,
        apps=apps,
        people=people,
    )
