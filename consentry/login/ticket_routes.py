"""The pages a ticket link opens: ``/u/reset-password`` (choose a new password) and ``/u/email-verification``.

The reset form's ``csrf`` is bound to this browser (``browser_binding``: a cookie on ``/u/reset-password`` and an
HMAC of it with the ticket's id); the ticket is used only by the POST that sets a password meeting the
connection's policy, once. Using a ticket signs nobody in. Afterwards the browser goes to the ticket's
``result_url`` (Auth0's ``success``, ``code``, ``message`` and, with ``includeEmailInRedirect``, ``email``
query parameters) or sees a confirmation page. Opening a verification link verifies the address at once, as
Auth0 does.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from consentry.login import browser_binding, password_policy
from consentry.runtime import Runtime
from consentry.services import tickets
from consentry.services.errors import ServiceError
from consentry.storage import tickets as ticket_rows
from consentry.storage.tickets import Ticket
from consentry.ui.render import render, render_error

router = APIRouter(tags=["Universal Login"], include_in_schema=False)
RESET_PAGE = "u/reset-password"
USED = "This link has expired or was already used. Ask for a new one from the application."
BAD_FORM = "The form has expired or was tampered with (CSRF check failed). Open the link from the email again."
MISMATCH = "The two passwords are not the same."


async def _options(rt: Runtime, ticket: Ticket) -> dict[str, object]:
    found = next((c for c in await rt.catalog.connections() if c.id == ticket.connection_id), None)
    return dict(found.options) if found else {}


def _policy_text(options: dict[str, object]) -> str:
    rules = password_policy.check(options, "").rules
    return "; ".join((r.message % r.format if r.format else r.message).rstrip(":") for r in rules)


def _parts(ticket: Ticket) -> tuple[str, ...]:
    return ("ticket", ticket.id)


async def _form(
    request: Request, rt: Runtime, ticket: Ticket, secret: str, *, error: str | None = None, status: int = 200
) -> Response:
    nonce = browser_binding.nonce_for_page(rt, request)
    response = render(
        request,
        "reset_password.html",
        status=status,
        ticket=secret,
        csrf=browser_binding.bound_token(rt, _parts(ticket), nonce),
        email=ticket.email,
        error=error,
        policy=_policy_text(await _options(rt, ticket)),
        tenant_name=rt.settings.tenant_name,
        headers={"Referrer-Policy": "no-referrer"},  # the URL holds the ticket
    )
    browser_binding.set_cookie(rt, response, nonce, page=RESET_PAGE)
    return response


@router.get("/u/reset-password")
async def reset_form(request: Request, ticket: str | None = None) -> Response:
    rt: Runtime = request.app.state.runtime
    found = await tickets.peek(rt, ticket_rows.PASSWORD_CHANGE, ticket)
    if found is None or ticket is None:
        return render_error(request, USED, status=400, error="invalid_ticket")
    return await _form(request, rt, found, ticket)


@router.post("/u/reset-password")
async def reset_submit(
    request: Request,
    ticket: str = Form("", max_length=200),
    csrf: str = Form("", max_length=100),
    password: str = Form("", max_length=1024),
    password_confirm: str = Form("", max_length=1024),
) -> Response:
    rt: Runtime = request.app.state.runtime
    found = await tickets.peek(rt, ticket_rows.PASSWORD_CHANGE, ticket)
    if found is None:
        return render_error(request, USED, status=400, error="invalid_ticket")
    if browser_binding.bound_problem(rt, request, _parts(found), csrf) is not None:
        return render_error(request, BAD_FORM, status=403, error="invalid_request")
    if password != password_confirm:
        return await _form(request, rt, found, ticket, error=MISMATCH, status=400)
    try:
        used = await tickets.change_password(rt, ticket, password, await _options(rt, found))
    except ServiceError as err:
        if err.code == "invalid_password":
            return await _form(request, rt, found, ticket, error=err.message, status=400)
        return render_error(request, USED, status=400, error="invalid_ticket")
    target = tickets.result_redirect(used, found.email, tickets.CHANGED_MESSAGE)
    if target is not None:
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    return render(
        request,
        "notice.html",
        title="Password changed",
        message=tickets.CHANGED_MESSAGE,
        tenant_name=rt.settings.tenant_name,
    )


@router.get("/u/email-verification")
async def verify_email(request: Request, ticket: str | None = None) -> Response:
    rt: Runtime = request.app.state.runtime
    found = await tickets.peek(rt, ticket_rows.EMAIL_VERIFICATION, ticket)
    used = await tickets.verify_email(rt, ticket) if found is not None and ticket else None
    if found is None or used is None:
        return render_error(request, USED, status=400, error="invalid_ticket")
    target = tickets.result_redirect(used, found.email, tickets.VERIFIED_MESSAGE)
    if target is not None:
        return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
    return render(
        request,
        "notice.html",
        title="Email verified",
        message=tickets.VERIFIED_MESSAGE,
        tenant_name=rt.settings.tenant_name,
        headers={"Referrer-Policy": "no-referrer"},
    )
