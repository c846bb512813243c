"""Dashboard: applications (create first- or third-party, settings, rotate secret, delete).

Every change calls ``consentry.services.clients`` inside one transaction, exactly as
``/api/v2/clients`` does; its errors are shown next to the field they are about.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.admin import guard
from consentry.admin.forms import Errors, Refusals, Submitted, service_errors
from consentry.admin.pages import INVALID, found, page, record, redirect
from consentry.commands.clients import ClientCreate, ClientUpdate
from consentry.config_records import ClientInfo
from consentry.consent.display import registration_label
from consentry.oauth.client_rules import PASSWORD_REALM
from consentry.services import clients as service
from consentry.services.dashboard_reads import app_grants
from consentry.services.errors import ServiceError
from consentry.storage.models import Client
from consentry.web import client_ip

router = APIRouter(prefix="/admin/applications", include_in_schema=False)
Admin = Annotated[guard.Viewer, Depends(guard.admin)]
SECTION = "admin/applications"
PER_PAGE = 50

APP_TYPES = (
    ("regular_web", "Regular web application (confidential, has a secret)"),
    ("spa", "Single-page application (public, no secret)"),
    ("native", "Native or mobile application (public, no secret)"),
    ("non_interactive", "Machine to machine (confidential, client credentials)"),
)
GRANT_TYPES = (
    ("authorization_code", "Authorization code (PKCE S256 required for third-party apps)"),
    ("refresh_token", "Refresh token"),
    ("client_credentials", "Client credentials (confidential apps only)"),
    ("password", "Password (first-party only)"),
    (PASSWORD_REALM, "Password realm (first-party only)"),
    ("implicit", "Implicit (first-party only)"),
)
POLICIES = (
    ("open_redirect_protection", "Open redirect protection: errors are shown on a page, never redirected"),
    ("allow_always", "Allow always: errors such as a declined consent are sent to the callback"),
)
AUTH_METHODS = (
    ("", "Default for the application type"),
    ("client_secret_post", "client_secret_post"),
    ("client_secret_basic", "client_secret_basic"),
    ("none", "none (public application)"),
)
FIELDS = (
    "name",
    "party",
    "app_type",
    "callbacks",
    "allowed_logout_urls",
    "web_origins",
    "grant_types",
    "redirection_policy",
    "logo_uri",
    "token_endpoint_auth_method",
    "is_agent",
)
LABELS = {"name": "Name", "callbacks": "Allowed callback URLs"}


def _choices() -> dict[str, Any]:
    return {
        "app_types": APP_TYPES,
        "grant_type_choices": GRANT_TYPES,
        "policies": POLICIES,
        "auth_methods": AUTH_METHODS,
    }


def _values(row: Client | None, form: Submitted | None = None) -> dict[str, Any]:
    """What the form shows: the submitted values after an error, else the stored ones, else defaults."""
    if form is not None:
        values: dict[str, Any] = {name: form.text(name) for name in FIELDS}
        values["grant_types"] = form.many("grant_types")
        if row is not None:  # the kind of an existing app is fixed, not part of its form
            values["party"] = "first" if row.is_first_party else "third"
        return values
    if row is None:
        return {
            "name": "",
            "party": "third",
            "app_type": "regular_web",
            "callbacks": "",
            "allowed_logout_urls": "",
            "web_origins": "",
            "grant_types": [],
            "redirection_policy": "open_redirect_protection",
            "logo_uri": "",
            "token_endpoint_auth_method": "",
            "is_agent": False,
        }
    return {
        "name": row.name,
        "party": "first" if row.is_first_party else "third",
        "app_type": row.app_type or "",
        "callbacks": "\n".join(row.callbacks or []),
        "allowed_logout_urls": "\n".join(row.allowed_logout_urls or []),
        "web_origins": "\n".join(row.web_origins or []),
        "grant_types": list(row.grant_types or []),
        "redirection_policy": row.redirection_policy or "open_redirect_protection",
        "logo_uri": row.logo_uri or "",
        "token_endpoint_auth_method": row.token_endpoint_auth_method,
        "is_agent": (row.attributes or {}).get("is_agent") is True,
    }


def _common(form: Submitted) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": form.text("name"),
        "app_type": form.optional("app_type"),
        "callbacks": form.lines("callbacks"),
        "allowed_logout_urls": form.lines("allowed_logout_urls"),
        "web_origins": form.lines("web_origins"),
        "logo_uri": form.optional("logo_uri"),
    }
    if form.optional("token_endpoint_auth_method"):
        data["token_endpoint_auth_method"] = form.text("token_endpoint_auth_method")
    return data


@router.get("")
async def list_applications(
    request: Request, who: Admin, page_no: int = Query(0, alias="page", ge=0, le=100_000)
) -> Response:
    async with who.rt.db.read() as s:
        rows, total = await service.list_clients(s, offset=page_no * PER_PAGE, limit=PER_PAGE)
    apps = [(row, registration_label(ClientInfo.from_row(row))) for row in rows]
    return page(
        request,
        who,
        "admin/apps_list.html",
        section=SECTION,
        title="Applications",
        apps=apps,
        total=total,
        page_no=page_no,
        per_page=PER_PAGE,
    )


def _new_form(request: Request, who: guard.Viewer, values: dict[str, Any], errors: Errors | None = None) -> Response:
    """The creation form, empty or as submitted with what was refused."""
    status = INVALID if errors else 200
    return page(
        request,
        who,
        "admin/app_new.html",
        section=SECTION,
        title="Create application",
        status=status,
        errors=errors,
        v=values,
        **_choices(),
    )


def _secret_page(request: Request, who: guard.Viewer, row: Client, secret: str | None, *, created: bool) -> Response:
    """The one time a secret is shown: after creating the application or rotating its secret."""
    title = "Application created" if created else "Secret rotated"
    return page(
        request, who, "admin/app_secret.html", section=SECTION, title=title, app=row, secret=secret, created=created
    )


@router.get("/new")
async def new_application(request: Request, who: Admin, party: str = "third") -> Response:
    values = _values(None)
    values["party"] = "first" if party == "first" else "third"
    return _new_form(request, who, values)


@router.post("/new")
async def create_application(request: Request, who: Admin) -> Response:
    form = Submitted(await guard.check_csrf(request, who))
    rt = who.rt
    data = _common(form)
    third = form.text("party") != "first"
    data["is_first_party"] = not third
    if form.many("grant_types"):
        data["grant_types"] = form.many("grant_types")
    if third:
        data["redirection_policy"] = form.optional("redirection_policy")
    if form.checked("is_agent"):
        data["is_agent"] = True
    with Refusals(FIELDS, labels=LABELS) as refused:
        body = ClientCreate(**{k: v for k, v in data.items() if v is not None})
        async with rt.db.transaction() as s:
            row, secret = await service.create_client(rt, s, body, actor=who.user_id)
    if refused.errors:
        return _new_form(request, who, _values(None, form), refused.errors)
    return _secret_page(request, who, row, secret, created=True)


async def detail_page(
    request: Request,
    who: guard.Viewer,
    client_id: str,
    *,
    status: int = 200,
    errors: Errors | None = None,
    form: Submitted | None = None,
) -> Response:
    with found():
        async with who.rt.db.read() as s:
            row = await service.get_client(s, client_id)
    grants = await app_grants(who.rt, row)
    return page(
        request,
        who,
        "admin/app_detail.html",
        section=SECTION,
        title=row.name,
        status=status,
        errors=errors,
        app=row,
        info=ClientInfo.from_row(row),
        v=_values(row, form),
        registration=registration_label(ClientInfo.from_row(row)),
        grants=grants,
        **_choices(),
    )


@router.post("/{client_id:path}/rotate-secret")
async def rotate_secret(request: Request, who: Admin, client_id: str) -> Response:
    await guard.check_csrf(request, who)
    rt = who.rt
    try:
        async with rt.db.transaction() as s:
            row, secret = await service.rotate_secret(rt, s, client_id)
            record(
                s,
                who,
                "client.secret_rotated",
                f"Client '{row.name}' secret rotated",
                client_id=client_id,
                ip=client_ip(request),
            )
    except ServiceError as err:
        return await detail_page(request, who, client_id, status=INVALID, errors=service_errors(err, ()))
    return _secret_page(request, who, row, secret, created=False)


@router.get("/{client_id:path}/delete")
async def confirm_delete(request: Request, who: Admin, client_id: str) -> Response:
    with found():
        async with who.rt.db.read() as s:
            row = await service.get_client(s, client_id)
    return page(request, who, "admin/app_delete.html", section=SECTION, title=f"Delete {row.name}", app=row)


@router.post("/{client_id:path}/delete")
async def delete_application(request: Request, who: Admin, client_id: str) -> Response:
    await guard.check_csrf(request, who)
    rt = who.rt
    with found():
        async with rt.db.transaction() as s:
            await service.delete_client(rt, s, client_id, reason=f"deleted by {who.label}")
    return redirect(rt, "admin/applications", "app-deleted")


# Registered last: ``{client_id:path}`` (CIMD client ids are URLs) would match the routes above.
@router.get("/{client_id:path}")
async def show_application(request: Request, who: Admin, client_id: str) -> Response:
    return await detail_page(request, who, client_id)


@router.post("/{client_id:path}")
async def update_application(request: Request, who: Admin, client_id: str) -> Response:
    form = Submitted(await guard.check_csrf(request, who))
    rt = who.rt
    data = _common(form)
    data["grant_types"] = form.many("grant_types")
    with Refusals(FIELDS, labels=LABELS) as refused:
        async with rt.db.transaction() as s:
            current = await service.get_client(s, client_id)
            if not current.is_first_party:
                data["redirection_policy"] = form.optional("redirection_policy")
            if form.checked("is_agent") or "is_agent" in (current.attributes or {}):  # unticking clears it
                data["is_agent"] = form.checked("is_agent")
            if data["app_type"] is None:
                data.pop("app_type")
            body = ClientUpdate(**{k: v for k, v in data.items() if v is not None or k == "logo_uri"})
            await service.update_client(rt, s, client_id, body)
    if refused.errors:
        return await detail_page(request, who, client_id, status=INVALID, errors=refused.errors, form=form)
    return redirect(rt, f"admin/applications/{client_id}", "app-saved")
