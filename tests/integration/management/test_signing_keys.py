"""/api/v2/keys/signing: list/get, rotate, revoke; the next key is published before it signs, old tokens verify
from the JWKS until their key is revoked; rotation and bootstrap on two processes at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import jwt
import orjson
from sqlalchemy import select, update

from consentry.bootstrap import bootstrap
from consentry.clock import Clock
from consentry.runtime import Runtime
from consentry.storage.models import AuditEvent, SigningKey
from tests.conftest import make_settings
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


async def _keys(mgmt: httpx.AsyncClient) -> dict[str, dict[str, object]]:
    r = await mgmt.get(URL)
    assert r.status_code == 200, r.text
    return {k["kid"]: k for k in r.json()}


def _only(keys: dict[str, dict[str, object]], flag: str) -> str:
    found = [kid for kid, k in keys.items() if k[flag]]
    assert len(found) == 1, (flag, keys)
    return found[0]


async def _jwks_kids(client: httpx.AsyncClient) -> list[str]:
    return [k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]]


async def test_the_next_key_is_listed_and_published(mgmt: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    keys = await _keys(mgmt)
    current, upcoming = _only(keys, "current"), _only(keys, "next")
    assert current != upcoming
    key = keys[upcoming]
    assert key["next"] is True and key["current"] is False and key["previous"] is False and key["revoked"] is False
    assert not {"current_since", "current_until", "revoked_at"} & set(key), "the next key has never signed"
    assert key["cert"].startswith("-----BEGIN CERTIFICATE-----") and len(key["thumbprint"]) == 40
    assert (await mgmt.get(f"{URL}/{upcoming}")).json() == key
    kids = await _jwks_kids(client)
    assert kids[:2] == [current, upcoming], "the JWKS lists the current key first, then the next one"
    assert set(kids) == {kid for kid, k in keys.items() if not k["revoked"]}


async def test_rotate_promotes_the_key_verifiers_already_have(
    mgmt: httpx.AsyncClient, client: httpx.AsyncClient, runtime: Runtime, mgmt_token: str
) -> None:
    audience = runtime.settings.management_audience
    before = await _keys(mgmt)
    old_current, old_next = _only(before, "current"), _only(before, "next")
    assert jwt.get_unverified_header(mgmt_token)["kid"] == old_current
    jwks_before = (await client.get("/.well-known/jwks.json")).json()  # what a verifier cached
    r = await mgmt.post(f"{URL}/rotate")
    assert r.status_code == 201 and set(r.json()) == {"cert", "kid"}
    assert r.json() == {"cert": before[old_next]["cert"], "kid": old_next}, "the published next key now signs"
    after = await _keys(mgmt)
    new_next = _only(after, "next")
    assert _only(after, "current") == old_next and after[old_next]["current_since"].endswith("Z")
    assert after[old_current]["previous"] is True and after[old_current]["current_until"].endswith("Z")
    assert new_next not in before and new_next != old_current
    assert (await _jwks_kids(client))[:3] == [old_next, new_next, old_current]
    # the first token signed after the rotation verifies with the JWKS fetched before it, and so do older ones
    fresh = await token_with(client, runtime, "read:signing_keys", "update:signing_keys")
    assert jwt.get_unverified_header(fresh["Authorization"][7:])["kid"] == old_next
    assert _verify_with_jwks(fresh["Authorization"][7:], jwks_before, audience)["aud"] == audience
    assert _verify_with_jwks(mgmt_token, jwks_before, audience)["aud"] == audience
    async with runtime.db.read() as s:
        event = await s.scalar(
            select(AuditEvent).where(AuditEvent.type == "signing_key.rotated").order_by(AuditEvent.date.desc()).limit(1)
        )
    assert event is not None and event.details["kid"] == old_next and event.details["actor"]


async def test_rotate_then_revoke(
    mgmt: httpx.AsyncClient, client: httpx.AsyncClient, runtime: Runtime, mgmt_token: str
) -> None:
    old_kid = jwt.get_unverified_header(mgmt_token)["kid"]
    r = await mgmt.post(f"{URL}/rotate")
    assert r.status_code == 201
    new_kid = r.json()["kid"]
    assert new_kid != old_kid
    fresh = await token_with(client, runtime, "read:signing_keys", "update:signing_keys")
    assert jwt.get_unverified_header(fresh["Authorization"][7:])["kid"] == new_kid
    r = await client.put(f"{URL}/{old_kid}/revoke", headers=fresh)
    assert r.status_code == 200 and r.json()["kid"] == old_kid and r.json()["cert"].startswith("-----BEGIN")
    kids = await _jwks_kids(client)
    assert old_kid not in kids and new_kid in kids
    assert_error(await mgmt.get(URL), 401, "invalid_token")  # the old token's key is gone
    revoked = (await client.get(f"{URL}/{old_kid}", headers=fresh)).json()
    assert revoked["revoked"] is True and revoked["revoked_at"].endswith("Z") and revoked["previous"] is False
    assert_error(await client.put(f"{URL}/{old_kid}/revoke", headers=fresh), 400, "invalid_key_state")
    assert_error(await client.put(f"{URL}/nope/revoke", headers=fresh), 404, "inexistent_signing_key")
    assert_error(await client.put(f"{URL}/{'x' * 65}/revoke", headers=fresh), 404, "inexistent_signing_key")


async def test_the_current_and_the_next_key_cannot_be_revoked(
    mgmt: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    keys = await _keys(mgmt)
    current, upcoming = _only(keys, "current"), _only(keys, "next")
    body = assert_error(await mgmt.put(f"{URL}/{current}/revoke"), 400, "invalid_key_state")
    assert body["message"] == "The current signing key cannot be revoked; rotate the keys first."
    body = assert_error(await mgmt.put(f"{URL}/{upcoming}/revoke"), 400, "invalid_key_state")
    assert body["message"] == "The next signing key cannot be revoked; it becomes current at the next rotation."
    assert await _keys(mgmt) == keys, "a refused revocation changes nothing"
    assert (await _jwks_kids(client))[:2] == [current, upcoming]


async def test_two_processes_rotating_at_once_leave_one_current_and_one_next(
    runtime: Runtime, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    other = Runtime.create(make_settings(runtime.settings.database_url, tmp_path), Clock())
    try:
        async with runtime.db.read() as s:
            published = set(await s.scalars(select(SigningKey.kid).where(SigningKey.state.in_(("current", "next")))))
        rows = await asyncio.gather(*(rt.keys.rotate() for rt in (runtime, other, runtime, other)))
        async with runtime.db.read() as s:
            states = [r.state for r in await s.scalars(select(SigningKey).where(SigningKey.state != "revoked"))]
    finally:
        await other.db.dispose()
    assert states.count("current") == 1 and states.count("next") == 1
    # one rotation promoted the key published before them all; each other one the key its predecessor made next
    assert len({r.kid for r in rows}) == 4 and published & {r.kid for r in rows}


async def test_a_database_without_a_next_key_gets_one_at_bootstrap(
    runtime: Runtime, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    """A database from before next keys: the next start (bootstrap, on every server and CLI start) adds it,
    once, even when two processes start at once."""
    async with runtime.db.transaction() as s:
        await s.execute(update(SigningKey).where(SigningKey.state == "next").values(state="previous"))
        current = await s.scalar(select(SigningKey.kid).where(SigningKey.state == "current"))
    other = Runtime.create(make_settings(runtime.settings.database_url, tmp_path), Clock())
    try:
        await asyncio.gather(bootstrap(runtime), *(rt.keys.ensure_key() for rt in (other, runtime, other)))
    finally:
        await other.db.dispose()
    async with runtime.db.read() as s:
        rows = {r.kid: r.state for r in await s.scalars(select(SigningKey).where(SigningKey.state != "revoked"))}
    assert list(rows.values()).count("next") == 1 and rows[current] == "current"
    upcoming = next(kid for kid, state in rows.items() if state == "next")
    assert (await _jwks_kids(client))[:2] == [current, upcoming]


async def test_a_process_that_missed_the_rotation_signs_with_a_published_key(
    runtime: Runtime, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    """Another worker (long key TTL, no notification) keeps signing with the old key, still published as
    previous; its stale JWKS already holds the key that signs now. A change of the configuration generation
    it watches makes it reload at once (the shared change counter drives that generation)."""
    other = Runtime.create(make_settings(runtime.settings.database_url, tmp_path, cache_ttl=60), Clock())
    try:
        await other.keys.reload()
        old = (await other.keys.signing_key()).kid
        rotated = await runtime.keys.rotate()
        assert (await other.keys.signing_key()).kid == old, "not seen yet"
        assert rotated.kid in {k["kid"] for k in orjson.loads(await other.keys.jwks())["keys"]}
        assert old in await _jwks_kids(client), "what it signs with is still published"
        other.catalog.invalidate_local()  # what another process's write does through the shared counter
        assert (await other.keys.signing_key()).kid == rotated.kid
    finally:
        await other.db.dispose()


async def test_scopes_are_enforced(client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await token_with(client, runtime, "read:signing_keys")
    assert (await client.get(URL, headers=headers)).status_code == 200
    assert_error(await client.post(f"{URL}/rotate", headers=headers), 403, "insufficient_scope")
    assert_error(await client.put(f"{URL}/x/revoke", headers=headers), 403, "insufficient_scope")
    headers = await token_with(client, runtime, "create:signing_keys")
    assert_error(await client.get(URL, headers=headers), 403, "insufficient_scope")
