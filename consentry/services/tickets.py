"""Auth0's tickets: single-use links for a password change or an email verification, and the emails that carry them.

A ticket is ``{issuer}u/reset-password?ticket=SECRET#`` or ``{issuer}u/email-verification?ticket=SECRET#`` (Auth0
ends its ticket URLs with ``#`` too); only SHA-256 of the secret is stored, with its expiry (``ttl_sec``, default
432000 s = 5 days as Auth0). Using one is a single conditional update (``storage.tickets``).

After a password change the user's login sessions end (Auth0 terminates them) and every other open password link
of the user stops working; refresh tokens stay valid, as in Auth0 (revoke them with ``DELETE /api/v2/grants`` or on
the dashboard when an account was compromised). The old password stops working at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from consentry.login import password_policy
from consentry.login.passwords import hash_password_off_loop
from consentry.runtime import Runtime
from consentry.services import audit, mailer
from consentry.services.errors import invalid
from consentry.storage import tickets
from consentry.storage.db import OrmUnit, Unit
from consentry.tokens import ids

PASSWORD_CHANGE, EMAIL_VERIFICATION = tickets.PASSWORD_CHANGE, tickets.EMAIL_VERIFICATION  # the two kinds
DEFAULT_TTL = 432000  # seconds: Auth0's default for both kinds of tickets
MAX_TTL = 30 * 86400
PAGES = {tickets.PASSWORD_CHANGE: "u/reset-password", tickets.EMAIL_VERIFICATION: "u/email-verification"}
PASSWORD_CHANGED = "scp"  # Auth0: Success Change Password
EMAIL_VERIFIED = "sv"  # Auth0: Success Verification Email
TICKET_CREATED = "ticket.created"  # a Management API change: Auth0's "sapi"
VERIFIED_MESSAGE = "Your email was verified. You can continue using the application."
CHANGED_MESSAGE = "Your password has been changed successfully."


@dataclass(frozen=True, kw_only=True)
class TicketRequest:
    """What a ticket is for (the Management API's body, or a signup / ``change_password`` request)."""

    kind: str
    user_id: str
    client_id: str | None = None
    result_url: str | None = None
    ttl_sec: int | None = None
    mark_email_as_verified: bool = False
    include_email_in_redirect: bool = False


def ticket_url(rt: Runtime, kind: str, secret: str) -> str:
    return f"{rt.settings.url(PAGES[kind])}?{urlencode({'ticket': secret})}#"


def lifetime(ttl_sec: int | None) -> int:
    if ttl_sec is not None and not 0 <= ttl_sec <= MAX_TTL:
        raise invalid(f"Payload validation error: ttl_sec must be between 0 and {MAX_TTL}.")
    return ttl_sec or DEFAULT_TTL


async def create_in(rt: Runtime, unit: Unit, req: TicketRequest) -> str:
    """Store a new ticket in the caller's transaction; returns its URL (the only place the secret exists)."""
    now = rt.clock.now()
    secret = ids.secret(32)
    await tickets.insert_in(
        unit,
        tickets.NewTicket(
            id=ids.prefixed("tkt"),
            token_hash=ids.digest(secret),
            kind=req.kind,
            user_id=req.user_id,
            client_id=req.client_id,
            result_url=req.result_url,
            mark_email_as_verified=req.mark_email_as_verified,
            include_email_in_redirect=req.include_email_in_redirect,
            created_at=now,
            expires_at=now + lifetime(req.ttl_sec),
        ),
    )
    return ticket_url(rt, req.kind, secret)


def record_created(s: OrmUnit, now: float, user_id: str, kind: str, actor: str | None) -> None:
    """The Management API made a ticket (who asked, for which kind): an audit event in the same transaction."""
    audit.record(s, now, TICKET_CREATED, "Ticket created", user_id=user_id, details={"actor": actor, "kind": kind})


async def peek(rt: Runtime, kind: str, secret: str | None) -> tickets.Ticket | None:
    """The live ticket a link names, or None (unknown, used, expired or not this kind)."""
    if not secret or len(secret) > 200:
        return None
    return await tickets.peek(rt.db, ids.digest(secret), kind, rt.clock.now())


async def change_password(rt: Runtime, secret: str, password: str, options: dict[str, object] | None) -> tickets.Ticket:
    """Redeem a password ticket with a new password that meets the connection's policy, in one transaction."""
    verdict = password_policy.check(options, password)
    if not verdict.ok:
        raise invalid(verdict.message(), "invalid_password")
    new_hash = await hash_password_off_loop(password)
    now = rt.clock.now()
    async with rt.db.write() as conn:
        used = await tickets.redeem_in(conn, ids.digest(secret), tickets.PASSWORD_CHANGE, now)
        if used is None:
            raise invalid("This link has expired or was already used.", "invalid_ticket")
        await tickets.set_password_in(conn, used.user_id, new_hash, now, verify_email=used.mark_email_as_verified)
        await audit.write(conn, now, PASSWORD_CHANGED, "Password changed with a ticket", user_id=used.user_id)
    return used


async def verify_email(rt: Runtime, secret: str) -> tickets.Ticket | None:
    """Redeem an email-verification ticket; None when it is unknown, used or expired."""
    now = rt.clock.now()
    async with rt.db.write() as conn:
        used = await tickets.redeem_in(conn, ids.digest(secret), tickets.EMAIL_VERIFICATION, now)
        if used is not None:
            await tickets.mark_verified_in(conn, used.user_id, now)
            await audit.write(conn, now, EMAIL_VERIFIED, "Email verified with a ticket", user_id=used.user_id)
    return used


def result_redirect(ticket: tickets.Ticket, email: str | None, message: str) -> str | None:
    """Where the browser goes after using the ticket (its ``result_url``, with Auth0's query), or None."""
    if not ticket.result_url:
        return None
    query = {"success": "true", "code": "success", "message": message}
    if ticket.include_email_in_redirect and email:
        query["email"] = email
    parts = urlsplit(ticket.result_url)
    joined = "&".join(p for p in (parts.query, urlencode(query)) if p)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))


# --- the emails ---------------------------------------------------------------------------------------------


def reset_mail(rt: Runtime, tenant_name: str, to: str, url: str, ttl: int) -> mailer.Mail:
    hours = max(1, ttl // 3600)
    return mailer.Mail(
        to=to,
        subject=f"Reset your {tenant_name} password",
        text=(
            f"Someone asked to reset the password of your {tenant_name} account ({to}).\n\n"
            f"To choose a new password, open this link (it works once, for {hours} hours):\n\n{url}\n\n"
            "If you did not ask for this, ignore this email: your password stays as it is.\n"
        ),
    )


def verification_mail(rt: Runtime, tenant_name: str, to: str, url: str) -> mailer.Mail:
    return mailer.Mail(
        to=to,
        subject=f"Verify your email for {tenant_name}",
        text=(
            f"Welcome to {tenant_name}. Please confirm that {to} is your email address by opening this link:\n\n"
            f"{url}\n\nIf you did not create an account, ignore this email.\n"
        ),
    )
