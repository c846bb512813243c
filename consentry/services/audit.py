"""Audit events, written in the same transaction as the change they describe (``GET /api/v2/logs``)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from consentry.clock import iso
from consentry.storage import audit_log
from consentry.storage.db import OrmUnit, Unit
from consentry.storage.models import AuditEvent
from consentry.tokens import ids

# Event types: Auth0's login codes where they exist, named Consentry events for the rest.
LOGIN_SUCCESS = "s"
LOGIN_FAILURE = "f"
CONSENT_GIVEN = "consent.given"
CONSENT_DECLINED = "consent.declined"
GRANT_REVOKED = "grant.revoked"
CLIENT_CREATED = "client.created"
CLIENT_UPDATED = "client.updated"
CLIENT_DELETED = "client.deleted"
CLIENT_SECRET_ROTATED = "client.secret_rotated"
CLIENT_GRANT_CREATED = "client_grant.created"
CLIENT_GRANT_UPDATED = "client_grant.updated"
CLIENT_GRANT_DELETED = "client_grant.deleted"
TOKEN_REUSE = "refresh_token.reused"
CODE_REPLAYED = "code.replayed"
LOGOUT = "slo"
# Auth0's failed-exchange codes, for mints that a later decision (policy, consent, user) refuses.
CODE_REFUSED = "feacft"
REFRESH_REFUSED = "fertft"
CLIENT_CREDENTIALS_REFUSED = "feccft"
# Auth0's successful-exchange codes, one per token mint (written in batches: services.audit_buffer).
CODE_EXCHANGED = "seacft"
REFRESH_EXCHANGED = "sertft"
CLIENT_CREDENTIALS_EXCHANGED = "seccft"
PASSWORD_EXCHANGED = "sepft"
ID_JAG_REFUSED = "fejwtb"  # an ID-JAG refused at the token endpoint (Cross App Access)
ID_JAG_EXCHANGED = "sejwtb"
DCR_PRUNED = "client.pruned"


# The address of the Management API caller being served (management.auth.require sets it for the request):
# an event recorded without an ``ip`` names it, so every configuration change says where it came from.
REQUEST_IP: ContextVar[str | None] = ContextVar("consentry_request_ip", default=None)


def record(
    session: OrmUnit,
    now: float,
    type_: str,
    description: str,
    *,
    client_id: str | None = None,
    user_id: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    audit_log.add_event(session, event(now, type_, description, client_id, user_id, ip, details))


def event(
    now: float,
    type_: str,
    description: str,
    client_id: str | None = None,
    user_id: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of one audit event (shared by the ORM ``record``, the Core ``write`` and ``audit_buffer``)."""
    return {
        "log_id": ids.hex_id(),
        "date": now,
        "type": type_,
        "description": description,
        "client_id": client_id,
        "user_id": user_id,
        "ip": ip if ip is not None else REQUEST_IP.get(),
        "details": details or {},
    }


async def write(
    conn: Unit,
    now: float,
    type_: str,
    description: str,
    *,
    client_id: str | None = None,
    user_id: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """``record`` inside a Core write transaction (``rt.db.write()``), for the hot paths."""
    await audit_log.insert_events(conn, event(now, type_, description, client_id, user_id, ip, details))


def as_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "log_id": event.log_id,
        "_id": event.log_id,
        "date": iso(event.date),
        "type": event.type,
        "description": event.description,
        "client_id": event.client_id,
        "user_id": event.user_id,
        "ip": event.ip,
        "details": event.details or {},
    }
