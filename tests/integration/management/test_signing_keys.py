"""/api/v2/keys/signing: list/get, rotate, revoke; old tokens verify from the JWKS until the key is revoked."""

from __future__ import annotations

import httpx
import jwt

from consentry.runtime import Runtime
from tests.integration.management.helpers import assert_error, token_with

URL = "/api/v2/keys/signing"


def _verify_with_jwks(token: str, jwks: dict[str, list[dict[str, object]]], audience: str) -> dict[str, object]:
    kid = jwt.get_unverified_header(token)["kid"]
    matching = [k for k in jwks["keys"] if k["kid"] == kid]
    assert matching, f"kid {kid} is not in the JWKS"
    key = jwt.PyJWK(matching[0])
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience)


async def test_list_and_get_shape(mgmt: httpx.AsyncClient) -> None:
    keys = (await mgmt.get(URL)).json()
    assert isinstance(keys, list) and len(keys) >= 1
    current = [k for k in keys if k["current"]]
    assert len(current) == 1
    key = current[0]
    assert set(key) >= {
        "kid",
        "cert",
        "pkcs7",
        "fingerprint",
        "thumbprint",
        "current",
        "next",
        "previous",
        "revoked",
        "current_since",
    }
    assert key["cert"].startswith("-----BEGIN CERTIFICATE-----") and key["pkcs7"].startswith("-----BEGIN PKCS7-----")
    assert len(key["thumbprint"]) == 40 and key["fingerprint"].count(":") == 19
    assert key["next"] is False and key["revoked"] is False and key["current_since"].endswith("Z")
    assert (await mgmt.get(f"{URL}/{key['kid']}")).json() == key
    assert_error(await mgmt.get(f"{URL}/nope"), 404, "inexistent_signing_key")


async def test_rotate_then_revoke(
    mgmt: httpx.AsyncClient, client: httpx.AsyncClient, runtime: Runtime, mgmt_token: str
) -> None:
    audience = runtime.settings.management_audience
    old_kid = jwt.get_unverified_header(mgmt_token)["kid"]
    r = await mgmt.post(f"{URL}/rotate")
    assert r.status_code == 201 and set(r.json()) == {"cert", "kid"}
    new_kid = r.json()["kid"]
    assert new_kid != old_kid
    # a token signed before the rotation still verifies from the published JWKS, and still works here
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} >= {old_kid, new_kid}
    assert _verify_with_jwks(mgmt_token, jwks, audience)["aud"] == audience
    keys = {k["kid"]: k for k in (await mgmt.get(URL)).json()}
    assert keys[new_kid]["current"] is True and keys[old_kid]["previous"] is True
    assert keys[old_kid]["current_until"].endswith("Z")
    # new tokens are signed with the new key
    fresh = await token_with(client, runtime, "read:signing_keys", "update:signing_keys")
    assert jwt.get_unverified_header(fresh["Authorization"][7:])["kid"] == new_kid
    assert_error(await client.put(f"{URL}/{new_kid}/revoke", headers=fresh), 400, "invalid_key_state")
    r = await client.put(f"{URL}/{old_kid}/revoke", headers=fresh)
    assert r.status_code == 200 and r.json()["kid"] == old_kid and r.json()["cert"].startswith("-----BEGIN")
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert old_kid not in {k["kid"] for k in jwks["keys"]} and new_kid in {k["kid"] for k in jwks["keys"]}
    assert_error(await mgmt.get(URL), 401, "invalid_token")  # the old token's key is gone
    revoked = (await client.get(f"{URL}/{old_kid}", headers=fresh)).json()
    assert revoked["revoked"] is True and revoked["revoked_at"].endswith("Z")
    assert_error(await client.put(f"{URL}/{old_kid}/revoke", headers=fresh), 400, "invalid_key_state")
    assert_error(await client.put(f"{URL}/nope/revoke", headers=fresh), 404, "inexistent_signing_key")


async def test_scopes_are_enforced(client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await token_with(client, runtime, "read:signing_keys")
    assert (await client.get(URL, headers=headers)).status_code == 200
    assert_error(await client.post(f"{URL}/rotate", headers=headers), 403, "insufficient_scope")
    assert_error(await client.put(f"{URL}/x/revoke", headers=headers), 403, "insufficient_scope")
    headers = await token_with(client, runtime, "create:signing_keys")
    assert_error(await client.get(URL, headers=headers), 403, "insufficient_scope")
