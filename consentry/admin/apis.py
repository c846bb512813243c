"""Dashboard: APIs (resource servers): identifier, scopes with descriptions, optional scopes, consent
skipping for first-party apps, offline access and the access policy (SPEC T7, C5, C7).

Scopes are a table of inputs with three blank rows for new ones (no JavaScript needed); a row is
removed by ticking its "Remove" box. Changes go through ``consentry.services.resource_servers``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from consentry.admin import guard
from consentry.admin.forms import Errors, Refusals, Submitted, service_errors, validation_errors
from consentry.admin.pages import INVALID, found, page, redirect
from consentry.commands.resource_servers import ResourceServerCreate, ResourceServerUpdate, ScopeIn
from consentry.services import dashboard_reads
from consentry.services import resource_servers as service
from consentry.services.errors import ServiceError
from consentry.storage.models import ResourceServer

router = APIRouter(prefix="/admin/apis", include_in_schema=False)
Admin = Annotated[guard.Viewer, Depends(guard.admin)]
SECTION = "admin/apis"
BLANK_ROWS = 3

USER_POLICIES = (
    ("allow_all", "Allow all applications (third-party apps still need a client grant)"),
    ("require_client_grant", "Only applications with a client grant"),
    ("deny_all", "No application may act for users"),
)
CLIENT_POLICIES = (
    ("require_client_grant", "Only applications with a client grant"),
    ("deny_all", "No machine-to-machine access"),
)
DIALECTS = (
    ("rfc9068_profile", "RFC 9068 (typ at+jwt)"),
    ("access_token", "Auth0 access token (typ JWT)"),
    ("rfc9068_profile_authz", "RFC 9068 with permissions"),
    ("access_token_authz", "Auth0 access token with permissions"),
)
FIELDS = (
    "identifier",
    "name",
    "allow_offline_access",
    "skip_consent",
    "enforce_policies",
    "user_policy",
    "client_policy",
    "token_lifetime",
    "token_dialect",
)


def _choices() -> dict[str, Any]:
    return {
        "user_policies": USER_POLICIES,
        "client_policies": CLIENT_POLICIES,
        "dialects": DIALECTS,
        "blank_rows": BLANK_ROWS,
    }


def _stored(row: ResourceServer | None) -> dict[str, Any]:
    if row is None:
        return {
            "identifier": "",
            "name": "",
            "allow_offline_access": False,
            "skip_consent": True,
            "enforce_policies": False,
            "user_policy": "allow_all",
            "client_policy": "require_client_grant",
            "token_lifetime": "",
            "token_dialect": "rfc9068_profile",
            "scopes": [],
        }
    policy = row.subject_type_authorization or {}
    return {
        "identifier": row.identifier,
        "name": row.name,
        "allow_offline_access": row.allow_offline_access,
        "skip_consent": row.skip_consent_for_verifiable_first_party_clients,
        "enforce_policies": (row.attributes or {}).get("enforce_policies") is True,
        "user_policy": (policy.get("user") or {}).get("policy", "allow_all"),
        "client_policy": (policy.get("client") or {}).get("policy", "require_client_grant"),
        "token_lifetime": str(row.token_lifetime),
        "token_dialect": row.token_dialect,
        "scopes": [
            {
                "value": s["value"],
                "description": s.get("description") or "",
                "optional": bool(s.get("optional")),
                "remove": False,
            }
            for s in row.scopes or []
        ],
    }


def _submitted(form: Submitted) -> dict[str, Any]:
    values: dict[str, Any] = {name: form.text(name) for name in FIELDS}
    values["allow_offline_access"] = form.checked("allow_offline_access")
    values["skip_consent"] = form.checked("skip_consent")
    values["enforce_policies"] = form.checked("enforce_policies")
    descriptions = form.raw_many("scope_description")
    optional, removed = set(form.many("scope_optional")), set(form.many("scope_remove"))
    rows = []
    for i, value in enumerate(form.raw_many("scope_value")):
        description = descriptions[i] if i < len(descriptions) else ""
        if value or description:
            rows.append(
                {
                    "value": value,
                    "description": description,
                    "optional": str(i) in optional,
                    "remove": str(i) in removed,
                }
            )
    values["scopes"] = rows
    return values


def _build(values: dict[str, Any], form: Submitted, *, create: bool) -> tuple[dict[str, Any], Errors]:
    """The request body the Management API would get, and per-row scope errors."""
    errors: Errors = {}
    scopes = []
    for i, row in enumerate(values["scopes"]):
        if row["remove"]:
            continue
        if not row["value"]:
            errors[f"scope-{i}"] = "Enter the scope's value (e.g. read:posts) or tick Remove."
            continue
        try:
            scopes.append(ScopeIn(value=row["value"], description=row["description"], optional=row["optional"]))
        except ValidationError as exc:
            errors[f"scope-{i}"] = validation_errors(exc).popitem()[1]
    body: dict[str, Any] = {
        "name": values["name"] or None,
        "scopes": scopes,
        "allow_offline_access": values["allow_offline_access"],
        "skip_consent_for_verifiable_first_party_clients": values["skip_consent"],
        "enforce_policies": values["enforce_policies"],
        "subject_type_authorization": {
            "user": {"policy": values["user_policy"]},
            "client": {"policy": values["client_policy"]},
        },
        "token_dialect": values["token_dialect"] or None,
        "token_lifetime": form.integer("token_lifetime"),
    }
    if create:
        body["identifier"] = values["identifier"]
    return {k: v for k, v in body.items() if v is not None}, errors


# The schema fields a form field is typed into under another name.
RENAMED = {
    "skip_consent_for_verifiable_first_party_clients": "skip_consent",
    "subject_type_authorization": "user_policy",
}


@router.get("")
async def list_apis(request: Request, who: Admin) -> Response:
    async with who.rt.db.read() as s:
        rows, _ = await service.list_resource_servers(s, offset=0, limit=500)
    return page(request, who, "admin/apis_list.html", section=SECTION, title="APIs", apis=rows)


def _form(
    request: Request,
    who: guard.Viewer,
    values: dict[str, Any],
    errors: Errors | None = None,
    *,
    api: ResourceServer | None = None,
    access: Any = None,
) -> Response:
    """The API's form (empty to create one): as stored, or as submitted with what was refused."""
    return page(
        request,
        who,
        "admin/api_form.html",
        section=SECTION,
        title=api.name if api else "Create API",
        status=INVALID if errors else 200,
        errors=errors,
        v=values,
        api=api,
        access=access,
        **_choices(),
    )


@router.get("/new")
async def new_api(request: Request, who: Admin) -> Response:
    return _form(request, who, _stored(None))


@router.post("/new")
async def create_api(request: Request, who: Admin) -> Response:
    form = Submitted(await guard.check_csrf(request, who))
    rt, values = who.rt, _submitted(form)
    body, errors = _build(values, form, create=True)
    if errors:
        return _form(request, who, values, errors)
    with Refusals(FIELDS, renamed=RENAMED) as refused:
        parsed = ResourceServerCreate(**body)
        async with rt.db.transaction() as s:
            row = await service.create_resource_server(rt, s, parsed, actor=who.user_id)
    if refused.errors:
        return _form(request, who, values, refused.errors)
    return redirect(rt, f"admin/apis/{row.id}", "api-created")


async def _detail(
    request: Request,
    who: guard.Viewer,
    api_id: str,
    *,
    values: dict[str, Any] | None = None,
    errors: Errors | None = None,
) -> Response:
    with found():
        async with who.rt.db.read() as s:
            row = await service.get_resource_server(s, api_id)
            access = await dashboard_reads.client_grants_with_apps(s, row.identifier)
    return _form(request, who, values or _stored(row), errors, api=row, access=access)


@router.get("/{api_id}")
async def show_api(request: Request, who: Admin, api_id: str) -> Response:
    return await _detail(request, who, api_id)


@router.post("/{api_id}")
async def update_api(request: Request, who: Admin, api_id: str) -> Response:
    form = Submitted(await guard.check_csrf(request, who))
    rt, values = who.rt, _submitted(form)
    body, errors = _build(values, form, create=False)
    if not errors:
        with Refusals(FIELDS, renamed=RENAMED) as refused:
            parsed = ResourceServerUpdate(**body)
            async with rt.db.transaction() as s:
                await service.update_resource_server(rt, s, api_id, parsed, actor=who.user_id)
        errors = refused.errors
    if errors:
        return await _detail(request, who, api_id, values=values, errors=errors)
    return redirect(rt, f"admin/apis/{api_id}", "api-saved")


@router.get("/{api_id}/delete")
async def confirm_delete(request: Request, who: Admin, api_id: str) -> Response:
    with found():
        async with who.rt.db.read() as s:
            row = await service.get_resource_server(s, api_id)
    return page(request, who, "admin/api_delete.html", section=SECTION, title=f"Delete {row.name}", api=row)


@router.post("/{api_id}/delete")
async def delete_api(request: Request, who: Admin, api_id: str) -> Response:
    await guard.check_csrf(request, who)
    rt = who.rt
    try:
        with found():
            async with rt.db.transaction() as s:
                await service.delete_resource_server(rt, s, api_id, actor=who.user_id)
    except ServiceError as err:
        return await _detail(request, who, api_id, errors=service_errors(err, ()))
    return redirect(rt, "admin/apis", "api-deleted")
