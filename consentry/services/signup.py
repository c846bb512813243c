"""Database signup and password-reset requests (``/dbconnections/*`` and the universal login's signup screen).

A signup creates the user, records Auth0's ``ss`` event and, when the user has an email address, stores an
email-verification ticket, all in one transaction; the verification email is sent after it commits. A
password-reset request answers the same whether or not the address is known (no user enumeration); for a known
address it stores a password ticket and sends its link (Auth0's ``scpr`` event).

Where signup is allowed is a pure decision (``signup_refusal``): a database connection the application may use
(SPEC T6) whose ``options.disable_signup`` is not set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consentry.config_records import ClientInfo, ConnectionInfo
from consentry.runtime import Runtime
from consentry.services import audit, mailer, rate_limit, tickets, users
from consentry.services.errors import invalid, refused
from consentry.storage import tickets as ticket_rows
from consentry.storage.models import User

SIGNUP_SUCCESS = "ss"  # Auth0: Success Signup
SIGNUP_FAILURE = "fs"  # Auth0: Failed Signup
RESET_REQUESTED = "scpr"  # Auth0: Success Change Password Request
VERIFICATION_SENT = "svr"  # Auth0: Success Verification Email Request
RESET_SENT_TEXT = "We've just sent you an email to reset your password."
# No mailbox flooding and no mass account creation from one place (counted in the shared rate_counters table).
SIGNUPS_PER_IP, SIGNUP_WINDOW = 30, 3600.0
RESET_MAILS_PER_ADDRESS, RESET_WINDOW = 5, 3600.0
TOO_MANY = "too_many_requests"


def signup_refusal(connection: ConnectionInfo | None) -> str | None:
    """Why no signup may happen in ``connection`` (None: it may). Pure: the caller found the connection among
    the ones the application may use."""
    if connection is None:
        return "connection_not_found"
    if connection.strategy != "auth0":
        return "not_a_database"
    if connection.options.get("disable_signup") is True:
        return "signup_disabled"
    return None


@dataclass(frozen=True, kw_only=True)
class Signup:
    """Who signs up where, and from which address (the profile fields Auth0's signup accepts)."""

    client: ClientInfo
    connection: ConnectionInfo
    email: str
    password: str
    ip: str
    username: str | None = None
    profile: dict[str, Any] | None = None
    user_metadata: dict[str, Any] | None = None


async def sign_up(rt: Runtime, req: Signup) -> User:
    """Create the user (the connection's password policy applies) and send the verification email."""
    problem = signup_refusal(req.connection)
    if problem == "signup_disabled":
        raise refused("public signup is disabled", "operation_not_allowed")
    if problem is not None:
        raise invalid("The connection is not a database connection of this application.", "connection_not_found")
    if req.connection.options.get("requires_username") and not req.username:
        raise invalid("Missing required property: username.", "invalid_signup")
    if not await rate_limit.hit(rt, f"signup:{req.ip}", SIGNUPS_PER_IP, SIGNUP_WINDOW):
        raise refused("Too many signups from this address. Try again later.", TOO_MANY)
    email = req.email.strip().lower()
    async with rt.db.transaction() as s:
        row, _ = await users.create_user(
            rt,
            s,
            connection=req.connection.name,
            email=email,
            password=req.password,
            username=req.username,
            profile=req.profile,
            user_metadata=req.user_metadata,
        )
        audit.record(
            s,
            row.created_at,
            SIGNUP_SUCCESS,
            "Successful signup",
            client_id=req.client.client_id,
            user_id=row.user_id,
            ip=req.ip,
        )
        url = await tickets.create_in(
            rt,
            s,
            tickets.TicketRequest(
                kind=ticket_rows.EMAIL_VERIFICATION, user_id=row.user_id, client_id=req.client.client_id
            ),
        )
    await send_verification(rt, email, url)
    return row


async def send_verification(rt: Runtime, email: str, url: str) -> None:
    """The verification email with ``url`` (a ticket stored by the caller's committed transaction)."""
    tenant = await rt.catalog.tenant()
    await mailer.send(rt.settings, tickets.verification_mail(rt, _tenant_name(rt, tenant), email, url))


async def request_reset(
    rt: Runtime, client: ClientInfo | None, connection: ConnectionInfo, email: str, ip: str
) -> None:
    """Send a password-reset link to ``email`` when it names a user of ``connection``; silent otherwise. ``client``
    is None for a login that belongs to no application (the dashboard, the connected-apps page)."""
    login = email.strip().lower()
    if not await rate_limit.hit(rt, f"reset-mail:{login}", RESET_MAILS_PER_ADDRESS, RESET_WINDOW):
        return  # the same answer, no further email: an address cannot be flooded with reset links
    async with rt.db.transaction() as s:
        found = [u for u in await users.users_by_email(s, login) if u.connection_id == connection.id]
        if not found or found[0].password_hash is None:
            return
        user = found[0]
        url = await tickets.create_in(
            rt,
            s,
            tickets.TicketRequest(
                kind=ticket_rows.PASSWORD_CHANGE, user_id=user.user_id, client_id=client.client_id if client else None
            ),
        )
        audit.record(
            s,
            rt.clock.now(),
            RESET_REQUESTED,
            "Password reset requested",
            client_id=client.client_id if client else None,
            user_id=user.user_id,
            ip=ip,
        )
    tenant = await rt.catalog.tenant()
    mail = tickets.reset_mail(rt, _tenant_name(rt, tenant), user.email or login, url, tickets.DEFAULT_TTL)
    await mailer.send(rt.settings, mail)


def _tenant_name(rt: Runtime, tenant: dict[str, Any]) -> str:
    name = tenant.get("friendly_name")
    return name if isinstance(name, str) and name else rt.settings.tenant_name
