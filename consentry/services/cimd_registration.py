"""Registering a client from its Client ID Metadata Document URL (``/api/v2/clients/cimd/*``).

An administrator names the document (``external_client_id``); Consentry fetches it with the automatic CIMD
fetcher (``oauth.cimd.fetch``: https, no redirects, public addresses, size cap, deadline), reads it with
Auth0's rules (``oauth.cimd_rules``) and, on register, stores the same strict third-party client the automatic
flow would (``oauth.cimd.store.new_row``), under ``client_id`` = the URL so ``/authorize`` and ``/oauth/token``
find it. Such a client is refreshed only when it is registered again (Auth0's "manual refresh"): its stored
copy never expires on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from consentry.oauth.cimd import fetch as cimd_fetch
from consentry.oauth.cimd.store import new_row
from consentry.oauth.cimd_rules import MAX_JWKS_BYTES, Report, external_id_problem, read_document, read_jwks
from consentry.oauth.errors import OAuthError
from consentry.runtime import Runtime
from consentry.services import audit, webhook_rules, webhooks
from consentry.services.errors import conflict, invalid, refused
from consentry.storage import cimd_clients, registrations
from consentry.storage.db import OrmUnit, write_now
from consentry.storage.models import Client
from consentry.tenant import flag

NEVER = 253402300799.0  # 9999-12-31: an administrator's registration is refreshed by registering again
PRIVATE_KEY_JWT_WARNING = (
    "Consentry verifies private_key_jwt client assertions against the application's credentials "
    "(POST /api/v2/clients/{id}/credentials), not the document's jwks or jwks_uri: "
    "this client can sign in users but cannot redeem codes until a credential is listed."
)


@dataclass
class Inspection:
    """A fetched document: its report, or why it could not be retrieved; the public keys of its jwks_uri."""

    report: Report | None
    errors: list[str] = field(default_factory=list)
    keys: list[dict[str, Any]] = field(default_factory=list)


async def check_url(rt: Runtime, url: str) -> str:
    """The URL's host, when an administrator may register it; a 400 naming the broken rule otherwise."""
    problem = external_id_problem(url)
    if problem:
        raise invalid(f"external_client_id {problem}.")
    if not (await rt.catalog.tenant()).get("client_id_metadata_document_supported", True):
        raise refused(
            "Client ID Metadata Documents are not enabled for this tenant (client_id_metadata_document_supported).",
            "operation_not_supported",
        )
    host = urlsplit(url).hostname or ""
    try:
        cimd_fetch.check_domain(rt.settings, host)
    except OAuthError as exc:
        raise invalid(exc.description) from None
    return host


async def registered(rt: Runtime, url: str) -> Client | None:
    """The metadata-document client already stored for ``url``; 409 when the id belongs to another kind."""
    async with rt.db.read() as s:
        row = await cimd_clients.client(s, url)
    if row is not None and row.registration_type != "cimd":
        raise conflict(
            "A client with this client_id exists and was not registered by metadata document.", "client_conflict"
        )
    return row


async def _fetch_json(rt: Runtime, url: str, limit: int | None = None) -> Any:
    """The parsed JSON at ``url`` (OAuthError when it cannot be fetched, ValueError when it is not JSON)."""
    settings = rt.settings if limit is None else rt.settings.model_copy(update={"cimd_max_bytes": limit})
    body, _ttl = await cimd_fetch.fetch_document(settings, url, urlsplit(url).hostname or "")
    return json.loads(body)


async def _add_keys(rt: Runtime, inspection: Inspection) -> None:
    """Fetch the jwks_uri of a private_key_jwt document (12KB, same fetch rules) and keep its public keys."""
    report = inspection.report
    assert report is not None
    try:
        jwks = await _fetch_json(rt, report.mapped["jwks_uri"], MAX_JWKS_BYTES)
    except OAuthError as exc:
        report.violations.append(f"jwks_uri could not be retrieved: {exc.description}")
        return
    except ValueError:
        report.violations.append("The jwks_uri document is not valid JSON.")
        return
    credentials, problems = read_jwks(jwks)
    report.violations.extend(problems)
    if not problems:
        report.mapped["client_authentication_methods"] = {"private_key_jwt": {"credentials": credentials}}
        report.warnings.append(PRIVATE_KEY_JWT_WARNING)
        inspection.keys = list(jwks["keys"])


async def inspect(rt: Runtime, url: str, host: str) -> Inspection:
    """Fetch and read the document at ``url``; retrieval failures are kept apart from rule violations."""
    try:
        doc = await _fetch_json(rt, url)
    except OAuthError as exc:
        return Inspection(None, [exc.description])
    except ValueError:
        return Inspection(Report({"external_client_id": url}, ["The metadata document is not valid JSON."]))
    inspection = Inspection(read_document(doc, url, host))
    assert inspection.report is not None
    if inspection.report.valid and "jwks_uri" in inspection.report.mapped:
        await _add_keys(rt, inspection)
    return inspection


def validation(report: Report) -> dict[str, Any]:
    return {"valid": report.valid, "violations": list(report.violations), "warnings": list(report.warnings)}


def preview_body(existing: Client | None, inspection: Inspection) -> dict[str, Any]:
    """Auth0's preview answer: ``errors`` when the document could not be fetched, else the mapping."""
    body: dict[str, Any] = {"client_id": existing.client_id} if existing else {}
    if inspection.errors or inspection.report is None:
        return {**body, "errors": list(inspection.errors)}
    return {**body, "mapped_fields": inspection.report.mapped, "validation": validation(inspection.report)}


def ensure_applicable(url: str, inspection: Inspection) -> Report:
    """The report of a document that may be registered; a 400 saying what is wrong otherwise."""
    if inspection.errors or inspection.report is None:
        raise invalid(
            f"The Client Metadata at {url} could not be retrieved: {'; '.join(inspection.errors)}",
            "client_metadata_unavailable",
        )
    if not inspection.report.valid:
        raise invalid(
            f"The Client Metadata document at {url} cannot be applied: {' '.join(inspection.report.violations)}",
            "invalid_client_metadata",
        )
    return inspection.report


def _attributes(row: Client | None, host: str, inspection: Inspection, now: float) -> dict[str, Any]:
    assert inspection.report is not None
    mapped = inspection.report.mapped
    attrs = {k: v for k, v in ((row.attributes or {}) if row else {}).items() if k != "jwks_uri"}
    attrs["metadata_url_host"] = host
    attrs["cimd"] = {
        "created_by": "admin",
        "fetched_at": now,
        "expires_at": NEVER,
        "keys": inspection.keys,
        "credentials": (mapped.get("client_authentication_methods") or {}).get("private_key_jwt"),
    }
    if "jwks_uri" in mapped:
        attrs["jwks_uri"] = mapped["jwks_uri"]
    return attrs


def _apply(row: Client, host: str, inspection: Inspection, now: float) -> None:
    """Copy the mapped fields onto the row (new or refreshed): the document is the source of truth."""
    assert inspection.report is not None
    mapped = inspection.report.mapped
    row.name, row.logo_uri, row.callbacks = mapped["name"], mapped.get("logo_uri"), mapped["callbacks"]
    row.grant_types, row.token_endpoint_auth_method = mapped["grant_types"], mapped["token_endpoint_auth_method"]
    row.attributes, row.updated_at = _attributes(row, host, inspection, now), now


async def _write(
    rt: Runtime, s: OrmUnit, url: str, host: str, inspection: Inspection, actor: str | None
) -> tuple[bool, Client]:
    now = rt.clock.now()
    row = await cimd_clients.client(s, url)
    if row is not None and row.registration_type != "cimd":
        raise conflict(
            "A client with this client_id exists and was not registered by metadata document.", "client_conflict"
        )
    created = row is None
    if row is None:
        row = new_row(url, now, name=url, callbacks=[], grant_types=[])
        cimd_clients.add(s, row)
    _apply(row, host, inspection, now)
    await write_now(s)
    if created and flag(await rt.catalog.tenant(), "enable_client_connections"):
        await registrations.enable_every_connection(s, url)
    kind, verb = (audit.CLIENT_CREATED, "registered") if created else (audit.CLIENT_UPDATED, "refreshed")
    audit.record(
        s,
        now,
        kind,
        f"Client '{row.name}' {verb} from its metadata document",
        client_id=url,
        details={"actor": actor, "registration_type": "cimd", "host": host},
    )
    if created:
        await webhooks.emit(rt, s, webhook_rules.CLIENT_CREATED, {**webhooks.client_data(row), "actor": actor})
    return created, row


async def save(rt: Runtime, url: str, host: str, inspection: Inspection, *, actor: str | None) -> tuple[bool, Client]:
    """Insert or refresh the client in one transaction; True when it was created."""
    for attempt in range(2):
        try:
            async with rt.db.transaction() as s:
                created, row = await _write(rt, s, url, host, inspection, actor)
            return created, row
        except Exception as exc:  # another request inserted the same URL first: refresh it instead
            if not cimd_clients.lost_race(exc):
                raise
            if attempt:
                raise conflict("The client was registered concurrently; try again.", "client_conflict") from None
    raise AssertionError("unreachable")


def register_body(row: Client, inspection: Inspection) -> dict[str, Any]:
    assert inspection.report is not None
    return {
        "client_id": row.client_id,
        "mapped_fields": inspection.report.mapped,
        "validation": validation(inspection.report),
    }
