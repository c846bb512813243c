"""Signed consent receipts: proof of exactly what a user approved, for which client identity, on which page.

Every approval on the consent screen writes one receipt in the transaction that writes the grant: a JWS
(``typ: consent-receipt+jwt``) signed with the tenant's current signing key, so anyone holding the JWKS can check
it offline (docs/consent.md, "Consent receipts"). It names who approved and when, the client as the screen showed
it (name, how it was registered or verified, the redirect host), the API, the scopes approved and the grant's
scopes after the approval, the duration and expiry chosen, and the SHA-256 of the consent page's HTML as it was
rendered to that user. Receipts outlive a revoked grant (they prove what was approved then) and go with the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consentry.clock import iso
from consentry.config_records import ClientInfo
from consentry.runtime import Runtime
from consentry.storage import consent_receipts as store
from consentry.storage.db import OrmUnit
from consentry.storage.models import ConsentReceipt, UserGrant
from consentry.tokens import ids
from consentry.tokens.jwt import sign_with
from consentry.tokens.keys import LoadedKey

RECEIPT_TYP = "consent-receipt+jwt"


@dataclass(frozen=True)
class Approval:
    """What the user saw and approved, as the consent screen showed it."""

    user_id: str
    user_label: str
    client: ClientInfo
    registration: str  # ``consent.display.registration_label``
    redirect_host: str
    api_name: str
    approved: list[str]
    duration: int  # seconds; 0: until revoked
    page_sha256: str | None  # of the consent page's HTML as rendered at GET time


def receipt_claims(rt: Runtime, approval: Approval, grant: UserGrant, receipt_id: str, now: float) -> dict[str, Any]:
    client = approval.client
    return {
        "iss": rt.settings.issuer_url,
        "sub": approval.user_id,
        "iat": int(now),
        "jti": receipt_id,
        "grant_id": grant.id,
        "user": {"user_id": approval.user_id, "shown_as": approval.user_label},
        "client": {
            "client_id": client.client_id,
            "name": client.name,
            "registration": approval.registration,
            "third_party": client.is_third_party,
            "redirect_host": approval.redirect_host,
        },
        "api": {"identifier": grant.audience, "name": approval.api_name},
        "scope": list(approval.approved),
        "grant_scope": list(grant.scope or []),
        "duration": approval.duration,
        "expires_at": int(grant.expires_at) if grant.expires_at is not None else None,
        "consent_page_sha256": approval.page_sha256,
    }


def issue_receipt(rt: Runtime, s: OrmUnit, approval: Approval, grant: UserGrant, key: LoadedKey) -> ConsentReceipt:
    """Sign the receipt of an approval with ``key`` (the tenant's current signing key, fetched before the
    transaction) and add it to the caller's transaction, the one that wrote the grant."""
    now = rt.clock.now()
    receipt_id = ids.prefixed("rcp")
    jws = sign_with(key, receipt_claims(rt, approval, grant, receipt_id, now), RECEIPT_TYP)
    row = ConsentReceipt(
        id=receipt_id,
        grant_id=grant.id,
        user_id=approval.user_id,
        client_id=approval.client.client_id,
        audience=grant.audience,
        jws=jws,
        created_at=now,
    )
    store.add_receipt(s, row)
    return row


def receipt_json(row: ConsentReceipt) -> dict[str, Any]:
    """A receipt as the Management API returns it: its metadata and the signed ``receipt`` itself."""
    return {
        "id": row.id,
        "grant_id": row.grant_id,
        "user_id": row.user_id,
        "clientID": row.client_id,
        "audience": row.audience,
        "created_at": iso(row.created_at),
        "receipt": row.jws,
    }


async def grant_receipts(s: OrmUnit, grant_id: str) -> list[ConsentReceipt]:
    """The receipts of one grant, oldest first."""
    return await store.grant_receipts(s, grant_id)


async def user_receipt(s: OrmUnit, user_id: str, receipt_id: str) -> ConsentReceipt | None:
    """One receipt, only if it belongs to ``user_id`` (the connected-apps page's download)."""
    if len(receipt_id) > 64:
        return None
    return await store.user_receipt(s, user_id, receipt_id)


async def latest_receipts(s: OrmUnit, grant_ids: list[str]) -> dict[str, str]:
    """The id of the newest receipt of each grant (grants approved before receipts existed have none)."""
    if not grant_ids:
        return {}
    return await store.latest_receipt_ids(s, grant_ids)
