"""Signed consent receipts (issue 21, item 3): each approval is provable against the JWKS, with the page's hash.

The verifier is the one printed in docs/consent.md ("Consent receipts"), run as it is written there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from consentry.runtime import Runtime
from tests.conftest import ISSUER
from tests.integration.flows.conftest import API, PASSWORD, grant, make_app, make_user
from tests.integration.management.helpers import assert_error, token_with
from tests.support.flow import Step, authorize, consent, login, pkce_pair

DOC = Path(__file__).parents[3] / "docs" / "consent.md"


def _doc_verifier() -> dict[str, Any]:
    """The functions of the docs' verifier, executed from the page's own code block."""
    text = DOC.read_text()
    block = re.search(r"<!-- receipt-verifier -->\s*```python\n(.*?)```\s*<!-- /receipt-verifier -->", text, re.S)
    assert block, "docs/consent.md lost its receipt verifier"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


async def _consent_step(client: httpx.AsyncClient, app: Any, scope: str = "read:posts write:posts") -> Step:
    _, challenge = pkce_pair()
    step = await authorize(
        client,
        {
            "client_id": app.client_id,
            "redirect_uri": app.callback,
            "response_type": "code",
            "scope": scope,
            "audience": API,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s",
        },
    )
    if step.on_login:
        step = await login(client, step, "alice@example.com", PASSWORD)
    assert step.on_consent
    return step


async def _grant_id(mgmt: httpx.AsyncClient, client_id: str) -> str:
    [only] = (await mgmt.get("/api/v2/grants", params={"client_id": client_id})).json()
    return str(only["id"])


async def test_receipt_verifies_against_the_jwks_and_hashes_the_page_as_rendered(
    client: httpx.AsyncClient, social: Runtime, mgmt: httpx.AsyncClient
) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    step = await _consent_step(client, app)
    page = step.response.content
    assert "code" in (await consent(client, step, duration=3600)).params
    grant_id = await _grant_id(mgmt, app.client_id)
    r = await mgmt.get(f"/api/v2/grants/{grant_id}/receipts")
    assert r.status_code == 200, r.text
    [receipt] = r.json()
    assert receipt["grant_id"] == grant_id and receipt["clientID"] == app.client_id and receipt["audience"] == API
    verifier = _doc_verifier()
    jwks = (await client.get("/.well-known/jwks.json")).json()
    claims = verifier["verify_receipt"](receipt["receipt"], ISSUER, jwks)
    assert verifier["page_matches"](claims, page)
    assert claims["consent_page_sha256"] == hashlib.sha256(page).hexdigest()
    assert claims["client"] == {
        "client_id": app.client_id,
        "name": "Partner App",
        "third_party": True,
        "registration": "Registered by the administrator",
        "redirect_host": "partner.example.com",
    }
    assert claims["api"] == {"identifier": API, "name": "Social API"}
    assert claims["scope"] == ["read:posts", "write:posts"] and claims["duration"] == 3600
    assert claims["expires_at"] == claims["iat"] + 3600 and claims["grant_id"] == grant_id
    assert claims["user"]["shown_as"] == "alice@example.com" and claims["sub"] == claims["user"]["user_id"]
    assert not verifier["page_matches"](claims, page + b" ")


async def test_a_forged_receipt_does_not_verify(
    client: httpx.AsyncClient, social: Runtime, mgmt: httpx.AsyncClient
) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    await consent(client, await _consent_step(client, app))
    [receipt] = (await mgmt.get(f"/api/v2/grants/{await _grant_id(mgmt, app.client_id)}/receipts")).json()
    head, body, sig = receipt["receipt"].split(".")
    claims = jwt.decode(receipt["receipt"], options={"verify_signature": False})
    claims["scope"] = ["read:posts", "write:posts", "delete:everything"]
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    jwks = (await client.get("/.well-known/jwks.json")).json()
    with pytest.raises(jwt.InvalidSignatureError):
        _doc_verifier()["verify_receipt"](f"{head}.{forged_body}.{sig}", ISSUER, jwks)


async def test_each_approval_adds_a_receipt_and_receipts_outlive_the_grant(
    client: httpx.AsyncClient, social: Runtime, mgmt: httpx.AsyncClient
) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    await consent(client, await _consent_step(client, app, "read:posts"))
    await consent(client, await _consent_step(client, app, "read:posts write:posts"), duration=86400)
    grant_id = await _grant_id(mgmt, app.client_id)
    receipts = (await mgmt.get(f"/api/v2/grants/{grant_id}/receipts")).json()
    claims = [jwt.decode(r["receipt"], options={"verify_signature": False}) for r in receipts]
    assert [c["scope"] for c in claims] == [["read:posts"], ["write:posts"]]
    assert claims[1]["grant_scope"] == ["read:posts", "write:posts"] and claims[0]["expires_at"] is None
    assert (await mgmt.delete(f"/api/v2/grants/{grant_id}")).status_code == 204
    assert len((await mgmt.get(f"/api/v2/grants/{grant_id}/receipts")).json()) == 2
    r = await mgmt.get("/api/v2/grants/ugr_nope/receipts")
    assert r.status_code == 404 and r.json()["errorCode"] == "inexistent_grant"


async def test_receipts_need_read_grants(client: httpx.AsyncClient, social: Runtime) -> None:
    assert (await client.get("/api/v2/grants/ugr_x/receipts")).status_code == 401
    headers = await token_with(client, social, "delete:grants")
    assert_error(await client.get("/api/v2/grants/ugr_x/receipts", headers=headers), 403, "insufficient_scope")


async def test_user_downloads_their_receipt_from_connected_apps(
    client: httpx.AsyncClient, social: Runtime, app: Any, mgmt: httpx.AsyncClient
) -> None:
    partner = await make_app(social, third_party=True)
    await grant(social, default=True)
    await consent(client, await _consent_step(client, partner), duration=3600)
    page = await client.get("/u/apps")
    assert page.status_code == 200 and "Access ends" in page.text
    link = re.search(r'href="[^"]*(/u/apps/receipts/[^"]+)"', page.text)
    assert link, page.text[:2000]
    r = await client.get(link.group(1))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/jose")
    assert r.headers["content-disposition"].startswith("attachment;")
    [stored] = (await mgmt.get(f"/api/v2/grants/{await _grant_id(mgmt, partner.client_id)}/receipts")).json()
    assert r.text == stored["receipt"]
    await make_user(social, "mallory@example.com")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER.rstrip("/")) as other:
        step = await authorize(
            other,
            {
                "client_id": partner.client_id,
                "redirect_uri": partner.callback,
                "response_type": "code",
                "scope": "read:posts",
                "audience": API,
                "code_challenge": pkce_pair()[1],
                "code_challenge_method": "S256",
            },
        )
        await login(other, step, "mallory@example.com", PASSWORD)
        assert (await other.get(link.group(1))).status_code == 404
