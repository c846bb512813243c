"""Sending email: a real SMTP client (``smtplib`` in a thread) or, with no ``CONSENTRY_SMTP_HOST``, an outbox folder.

The embedded default writes each message to ``{data_dir}/outbox/`` as an ``.eml`` file (owner-readable only: it
holds a single-use link) and logs where; the log never carries a link or token. With SMTP, the message is sent
before the request that asked for it answers, so a mail that cannot be sent is logged (without the link) and the
request still answers as Auth0 does: mail is best effort, a ticket stays usable through the Management API.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import urlsplit

from consentry.settings import Settings

log = logging.getLogger("consentry.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


@dataclass(frozen=True)
class Sent:
    """Where a message went: ``smtp`` (the server accepted it), ``outbox`` (the file) or ``failed``."""

    via: str
    where: str


def sender(settings: Settings) -> str:
    host = urlsplit(settings.issuer_url).hostname or "localhost"
    return settings.smtp_from or f"no-reply@{host}"


def build(settings: Settings, mail: Mail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender(settings)
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender(settings).rpartition("@")[2] or None)
    # 7bit/8bit, never quoted-printable: the link must stay one unbroken line, in the outbox file too
    msg.set_content(mail.text, cte="7bit" if mail.text.isascii() else "8bit")
    return msg


def outbox_dir(settings: Settings) -> Path:
    return settings.data_dir / "outbox"


def _write_outbox(settings: Settings, msg: EmailMessage) -> Path:
    folder = outbox_dir(settings)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = str(msg["Message-ID"]).strip("<>").replace("/", "_").replace("@", "_")
    path = folder / f"{name}.eml"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(msg.as_bytes())
    tmp.replace(path)  # a reader never sees half a message
    return path


def _smtp_send(settings: Settings, msg: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
        smtp.ehlo()
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(msg)


async def send(settings: Settings, mail: Mail) -> Sent:
    """Deliver ``mail`` (blocking work in a thread); failures are logged and reported, never raised."""
    msg = build(settings, mail)
    if not settings.smtp_host:
        path = await asyncio.to_thread(_write_outbox, settings, msg)
        log.info("email %r for %s written to %s (no CONSENTRY_SMTP_HOST set)", mail.subject, _masked(mail.to), path)
        return Sent("outbox", str(path))
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        await asyncio.to_thread(_smtp_send, settings, msg)
    except (smtplib.SMTPException, OSError) as exc:
        log.error("email %r for %s not sent through %s: %s", mail.subject, _masked(mail.to), where, type(exc).__name__)
        return Sent("failed", where)
    log.info("email %r for %s sent through %s", mail.subject, _masked(mail.to), where)
    return Sent("smtp", where)


def _masked(address: str) -> str:
    """``a…@example.com``: enough to tell messages apart in a log, not the whole address."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"
