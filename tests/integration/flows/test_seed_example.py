"""The seeds' example, literally (SPEC C1–C3, C8, C10; issue acceptance)."""

from __future__ import annotations

import httpx
import jwt

from consentry.runtime import Runtime
from tests.conftest import ISSUER
from tests.integration.flows.conftest import API, PASSWORD, grant, make_app
from tests.support.flow import authorize, consent, exchange, login, pkce_pair


async def test_C1_C2_C3_third_party_spa_consent_then_silent_second_login(
    client: httpx.AsyncClient, social: Runtime, mgmt: httpx.AsyncClient
) -> None:
    app = await make_app(social, third_party=True)
    assert app.client_id.startswith("tpc_")
    await grant(social, default=True)
    verifier, challenge = pkce_pair()
    params = {
        "client_id": app.client_id,
        "redirect_uri": app.callback,
        "response_type": "code",
        "scope": "read:posts write:posts offline_access",
        "audience": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "STATE_VALUE",
    }
    step = await authorize(client, params)
    step = await login(client, step, "alice@example.com", PASSWORD)
    assert step.on_consent
    assert "Posts: read and write your posts" in step.text
    assert "Third-party application" in step.text and "partner.example.com" in step.text
    assert "long-lived access" in step.text
    step = await consent(client, step, "accept")
    cb = step.params
    assert cb["state"] == "STATE_VALUE" and cb["iss"] == ISSUER
    r = await exchange(client, cb["code"], app.client_id, app.callback, verifier)
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["scope"] == "read:posts write:posts offline_access"
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["aud"] == API and claims["scope"] == "read:posts write:posts offline_access"
    assert "id_token" not in tokens  # C4: no OIDC for strict third-party apps by default

    grants = (await mgmt.get("/api/v2/grants", params={"client_id": app.client_id})).json()
    assert len(grants) == 1 and grants[0]["clientID"] == app.client_id and grants[0]["audience"] == API

    # C3: the second login shows no consent screen
    verifier2, challenge2 = pkce_pair()
    step = await authorize(client, {**params, "code_challenge": challenge2})
    assert step.callback and "code" in step.params

    # C10: prompt=consent shows it again
    step = await authorize(client, {**params, "prompt": "consent"})
    assert step.on_consent

    # C8: revoking the grant kills the refresh token at once; the next login asks again
    assert (await mgmt.delete(f"/api/v2/grants/{grants[0]['id']}")).status_code == 204
    mgmt.headers.pop("Authorization")
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "client_id": app.client_id, "refresh_token": tokens["refresh_token"]},
    )
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"
    step = await authorize(client, params)
    assert step.on_consent
