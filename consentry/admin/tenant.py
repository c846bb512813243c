"""Dashboard: connections (promote to domain level, SPEC T6) and tenant settings with their flags (C4, C5, T9).

Both go through the services behind ``/api/v2/connections`` and ``/api/v2/tenants/settings``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from consentry.admin import guard
from consentry.admin.forms import Errors, Refusals, Submitted
from consentry.admin.pages import INVALID, found, page, redirect
from consentry.commands.connections import ConnectionUpdate
from consentry.commands.tenant_settings import TenantSettingsUpdate
from consentry.services import connections as connection_service
from consentry.services import tenant_settings as settings_service
from consentry.services.listing import Paging

router = APIRouter(prefix="/admin", include_in_schema=False)
Admin = Annotated[guard.Viewer, Depends(guard.admin)]

FLAGS = (
    (
        "use_scope_descriptions_for_consent",
        "Use scope descriptions on the consent screen",
        "Show each scope's description instead of the grouped scope names (all APIs).",
    ),
    (
        "enable_dynamic_client_registration",
        "Dynamic Client Registration",
        "POST /oidc/register creates third-party applications; needs default permissions for third-party apps.",
    ),
    (
        "third_party_oidc_identity",
        "Identity scopes for third-party applications",
        "Third-party apps may ask for openid, profile and email; each app gets its own pairwise user id.",
    ),
    (
        "enable_client_connections",
        "Enable new applications on every connection",
        "New applications can use every existing connection.",
    ),
    (
        "revoke_refresh_token_grant",
        "Revoking a refresh token revokes its grant",
        "A refresh token revoked at /oauth/revoke also deletes the user's grant for that application.",
    ),
    ("enable_sso", "Single sign-on", "One login session is shared by every application."),
)
SWITCHES = (
    (
        "skip_non_verifiable_callback_uri_confirmation_prompt",
        "Skip the login confirmation prompt",
        "First-party apps with a localhost or custom-scheme callback sign in without the confirmation prompt.",
    ),
    (
        "client_id_metadata_document_supported",
        "Client ID Metadata Documents",
        "An https URL can be used as client_id (AI agents); the app shows as registered by its domain.",
    ),
)
TEXTS = (
    ("friendly_name", "Tenant name (shown on pages)"),
    ("support_email", "Support email"),
    ("support_url", "Support URL"),
)


@router.get("/connections")
async def connections(request: Request, who: Admin) -> Response:
    async with who.rt.db.read() as s:
        rows, _, _ = await connection_service.list_connections(s, Paging(0, 100, False, None, None))
        enabled = await connection_service.enabled_clients(s, [r.id for r in rows])
    return page(
        request,
        who,
        "admin/connections.html",
        section="admin/connections",
        title="Connections",
        connections=[(r, len(enabled.get(r.id, []))) for r in rows],
    )


@router.post("/connections/{connection_id}")
async def update_connection(request: Request, who: Admin, connection_id: str) -> Response:
    form = Submitted(await guard.check_csrf(request, who))
    rt = who.rt
    body = ConnectionUpdate.model_validate({"is_domain_connection": form.text("is_domain_connection") == "true"})
    with found():
        async with rt.db.transaction() as s:
            await connection_service.update_connection(rt, s, connection_id, body, actor=who.user_id)
    return redirect(rt, "admin/connections", "connection-saved")


async def _settings_page(
    request: Request,
    who: guard.Viewer,
    values: dict[str, Any] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> Response:
    rt = who.rt
    if values is None:
        async with rt.db.read() as s:
            current = await settings_service.get_settings(rt, s)
        values = {
            **{k: current.get(k) or "" for k, _ in TEXTS},
            "default_directory": current["default_directory"],
            **{k: bool(current.get(k)) for k, _, _ in SWITCHES},
            "flags": {k: bool(current["flags"].get(k)) for k, _, _ in FLAGS},
        }
    directories = [c.name for c in await rt.catalog.connections()]
    return page(
        request,
        who,
        "admin/settings.html",
        section="admin/settings",
        title="Tenant settings",
        status=status,
        errors=errors,
        v=values,
        flags=FLAGS,
        switches=SWITCHES,
        texts=TEXTS,
        directories=directories,
    )


@router.get("/settings")
async def settings(request: Request, who: Admin) -> Response:
    return await _settings_page(request, who)


@router.post("/settings")
async def save_settings(request: Request, who: Admin) -> Response:
    form = Submitted(await guard.check_csrf(request, who))
    rt = who.rt
    values: dict[str, Any] = {
        **{k: form.text(k) for k, _ in TEXTS},
        "default_directory": form.text("default_directory"),
        **{k: form.checked(k) for k, _, _ in SWITCHES},
        "flags": {k: form.checked(f"flag_{k}") for k, _, _ in FLAGS},
    }
    # An empty text field resets the setting to its default (null in the Management API).
    patch = {
        **{k: values[k] or None for k, _ in TEXTS},
        "default_directory": values["default_directory"] or None,
        **{k: values[k] for k, _, _ in SWITCHES},
        "flags": values["flags"],
    }
    with Refusals(("default_directory", "friendly_name", "support_email", "support_url")) as refused:
        body = TenantSettingsUpdate(**patch)
        async with rt.db.transaction() as s:
            await settings_service.update_settings(rt, s, body, actor=who.user_id)
    if refused.errors:
        return await _settings_page(request, who, values, refused.errors, INVALID)
    return redirect(rt, "admin/settings", "settings-saved")
