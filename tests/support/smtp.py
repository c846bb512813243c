"""A real SMTP server for the tests (aiosmtpd in a thread of its own) and the messages it received.

Consentry sends a message before the request that asked for it answers, so a test reads the inbox right after
the response: ``next()`` waits on a queue (with a timeout) and never sleeps.
"""

from __future__ import annotations

import email
import queue
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.live_server import free_port

LINK = re.compile(r"https?://\S+?\?ticket=[A-Za-z0-9_\-%]+#")


@dataclass
class Inbox:
    """What the SMTP server received: one ``EmailMessage`` per delivery, with its envelope recipients."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: queue.Queue[EmailMessage] = field(default_factory=queue.Queue)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        msg = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(msg, EmailMessage)
        msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.put(msg)
        return "250 Message accepted"

    def next(self, timeout: float = 10) -> EmailMessage:
        return self.messages.get(timeout=timeout)

    def empty(self) -> bool:
        return self.messages.empty()

    @property
    def settings(self) -> dict[str, Any]:
        """The ``CONSENTRY_SMTP_*`` values that send to this server (plain SMTP on loopback: no STARTTLS)."""
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_starttls": False, "smtp_from": "auth@example.com"}


def link_in(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None, "no text part"
    found = LINK.search(body.get_content())
    assert found, f"no ticket link in: {body.get_content()!r}"
    return found.group(0)


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    inbox = Inbox(port=free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
