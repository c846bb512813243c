"""``/api/v2/tickets``: Auth0's password-change and email-verification tickets (scope ``create:user_tickets``).

The answer is ``201 {"ticket": URL}``; the Management API sends no email (as Auth0: the caller delivers the
link). The link works once, until ``ttl_sec`` (default 5 days) has passed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from consentry.commands.tickets import EmailVerificationTicket, PasswordChangeTicket
from consentry.management.auth import Principal, require
from consentry.management.routers.common import actor, runtime
from consentry.services import tickets
from consentry.services import users as user_service
from consentry.services.errors import invalid, not_found
from consentry.web import json_response

router = APIRouter(prefix="/api/v2", tags=["Tickets"])
Create = Annotated[Principal, Depends(require("create:user_tickets"))]


@router.post(
    "/tickets/password-change",
    summary="Create a password change ticket",
    operation_id="post_password_change",
    status_code=201,
)
async def post_password_change(request: Request, body: PasswordChangeTicket, claims: Create) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        if body.user_id:
            user = await user_service.get_user(s, body.user_id)
        else:
            assert body.email and body.connection_id
            matches = [
                u for u in await user_service.users_by_email(s, body.email) if u.connection_id == body.connection_id
            ]
            if not matches:
                raise not_found("user", "inexistent_user")
            user = matches[0]
        if not user.user_id.startswith("auth0|"):
            raise invalid("Password change tickets are for users of database connections.", "invalid_user_id")
        url = await tickets.create_in(
            rt,
            s,
            tickets.TicketRequest(
                kind=tickets.PASSWORD_CHANGE,
                user_id=user.user_id,
                client_id=body.client_id,
                result_url=body.result_url or None,
                ttl_sec=body.ttl_sec,
                mark_email_as_verified=body.mark_email_as_verified,
                include_email_in_redirect=body.includeEmailInRedirect,
            ),
        )
        tickets.record_created(s, rt.clock.now(), user.user_id, tickets.PASSWORD_CHANGE, actor(claims))
    return json_response({"ticket": url}, 201)


@router.post(
    "/tickets/email-verification",
    summary="Create an email verification ticket",
    operation_id="post_email_verification",
    status_code=201,
)
async def post_email_verification(request: Request, body: EmailVerificationTicket, claims: Create) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        user = await user_service.get_user(s, body.user_id)
        if not user.email:
            raise invalid("The user has no email address to verify.", "invalid_user_id")
        url = await tickets.create_in(
            rt,
            s,
            tickets.TicketRequest(
                kind=tickets.EMAIL_VERIFICATION,
                user_id=user.user_id,
                client_id=body.client_id,
                result_url=body.result_url or None,
                ttl_sec=body.ttl_sec,
                include_email_in_redirect=body.includeEmailInRedirect,
            ),
        )
        tickets.record_created(s, rt.clock.now(), user.user_id, tickets.EMAIL_VERIFICATION, actor(claims))
    return json_response({"ticket": url}, 201)
