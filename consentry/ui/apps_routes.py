"""The end user's connected-apps page, ``/u/apps`` (SPEC C8, §6 "Beyond Auth0").

One card per application the signed-in user has authorized, worded like the consent screen, with
when consent was given, when it expires, when the app last used it, whether it holds long-lived access, and a
download of the signed consent receipt, how the app was registered (verified domain, registered dynamically,
added by the administrator) and its live refresh-token families ("devices"). **Revoke all** asks for
confirmation, then revokes every grant of the user for that application and their refresh tokens in one
transaction (``consentry.services.user_grants``), so the app loses access at once. **Take back** removes one
permission from a grant and **Sign out this device** revokes one refresh-token family only
(``consentry.services.app_access``). Every change is a POST with the page's CSRF token.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from consentry.admin import guard
from consentry.admin.forms import Submitted
from consentry.services import app_access, dashboard_reads
from consentry.services.consent_receipts import user_receipt
from consentry.services.errors import ServiceError
from consentry.services.organization_access import acted_for, organization_grants
from consentry.services.user_grants import revoke_user_grants
from consentry.ui.render import render
from consentry.web import client_ip

router = APIRouter(tags=["Universal Login"], include_in_schema=False)
User = Annotated[guard.Viewer, Depends(guard.end_user)]
NOTICES = {
    "scope": "That permission was taken back.",
    "device": "That device was signed out: the app can no longer use your account from it.",
    "gone": "That access was already gone.",
}


def _page(request: Request, who: guard.Viewer, template: str, status: int = 200, **context: Any) -> Response:
    return render(request, template, status=status, who=who, csrf=who.csrf, now=who.rt.clock.now(), **context)


@router.get("/u/apps")
async def connected_apps(
    request: Request,
    who: User,
    revoked: str = Query("", max_length=2000),
    notice: str = Query("", max_length=16),
) -> Response:
    apps = await dashboard_reads.connected_apps(who.rt, who.user_id)
    # The notice names the app only if this user just revoked it and it is gone, so a crafted link cannot
    # claim a revocation of an app the user never connected.
    still_connected = any(a.client.client_id == revoked for a in apps)
    gone = None
    if revoked and not still_connected and await dashboard_reads.revoked_recently(who.rt, who.user_id, revoked):
        gone = await who.rt.catalog.client(revoked)
    org_grants, agents = await organization_grants(who.rt, who.user_id), await acted_for(who.rt, who.user_id)
    return _page(
        request,
        who,
        "apps.html",
        apps=apps,
        revoked=gone,
        notice=NOTICES.get(notice),
        org_grants=org_grants,
        acted_for=agents,
    )


@router.get("/u/apps/receipts/{receipt_id}")
async def download_receipt(who: User, receipt_id: str) -> Response:
    """One of the user's signed consent receipts, as a file (404 for anyone else's)."""
    async with who.rt.db.read() as s:
        row = await user_receipt(s, who.user_id, receipt_id)
    if row is None:
        return Response("Not found", status_code=404, media_type="text/plain", headers={"Cache-Control": "no-store"})
    disposition = f'attachment; filename="consent-receipt-{row.id}.jws"'
    return Response(
        row.jws,
        media_type="application/jose",
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


@router.get("/u/apps/revoke")
async def confirm_revoke(request: Request, who: User, client_id: str = Query("", max_length=2000)) -> Response:
    """The confirmation step (a page, so it works without JavaScript)."""
    apps = await dashboard_reads.connected_apps(who.rt, who.user_id)
    app = next((a for a in apps if a.client.client_id == client_id), None)
    if app is None:
        return RedirectResponse(who.rt.settings.url("u/apps"), status_code=303, headers={"Cache-Control": "no-store"})
    return _page(request, who, "apps.html", apps=[], confirm=app)


@router.post("/u/apps/revoke")
async def revoke(request: Request, who: User) -> Response:
    form = Submitted(await guard.check_csrf(request, who))
    rt, client_id = who.rt, form.text("client_id")
    async with rt.db.transaction() as s:
        count = await revoke_user_grants(
            rt, s, who.user_id, actor=who.user_id, ip=client_ip(request), client_id=client_id
        )
    target = rt.settings.url("u/apps") + ("?" + urlencode({"revoked": client_id}) if count else "")
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def _back(who: guard.Viewer, notice: str) -> Response:
    url = who.rt.settings.url("u/apps") + "?" + urlencode({"notice": notice})
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


@router.post("/u/apps/revoke-scope")
async def revoke_scope(request: Request, who: User) -> Response:
    """Take back one permission (its scopes) from one of the user's grants."""
    form = Submitted(await guard.check_csrf(request, who))
    scopes = [sc for sc in form.data.get("scope", []) if sc][:20]
    try:
        async with who.rt.db.transaction() as s:
            await app_access.revoke_scopes(
                who.rt,
                s,
                user_id=who.user_id,
                grant_id=form.text("grant_id"),
                scopes=scopes,
                actor=who.user_id,
                ip=client_ip(request),
            )
    except ServiceError:  # not this user's grant, or already revoked
        return _back(who, "gone")
    return _back(who, "scope")


@router.post("/u/apps/revoke-device")
async def revoke_device(request: Request, who: User) -> Response:
    """Sign one device out of one app: its refresh-token family only."""
    form = Submitted(await guard.check_csrf(request, who))
    try:
        async with who.rt.db.transaction() as s:
            await app_access.revoke_device(
                who.rt,
                s,
                user_id=who.user_id,
                family_id=form.text("family_id"),
                actor=who.user_id,
                ip=client_ip(request),
            )
    except ServiceError:
        return _back(who, "gone")
    return _back(who, "device")
