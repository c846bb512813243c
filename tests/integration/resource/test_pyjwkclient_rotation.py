"""Acceptance (issue 16): a resource server using PyJWT's ``PyJWKClient`` with default settings, which fetched
the JWKS before a rotation, verifies the first token signed after it, without refetching.

Against the real ``consentry serve`` with two workers, on SQLite and on PostgreSQL. ``PyJWKClient`` caches
the JWKS for 300 s and refetches on an unknown ``kid`` only 30 s after its last fetch: had the rotation
signed with a key it had not seen, verification would fail here.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.support.live_server import fresh_postgres_database, live_server


class CountingJWKClient(jwt.PyJWKClient):
    """``PyJWKClient`` with its defaults, counting the JWKS fetches it makes."""

    fetches = 0

    def fetch_data(self) -> Any:
        self.fetches += 1
        return super().fetch_data()


def _token(http: httpx.Client, base: str, creds: dict[str, str], audience: str) -> str:
    r = http.post(f"{base}oauth/token", data={"grant_type": "client_credentials", "audience": audience, **creds})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_pyjwkclient_verifies_the_first_token_after_a_rotation(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = None
    if database == "postgresql":
        url = asyncio.run(fresh_postgres_database(request.getfixturevalue("postgres_url")))
    with live_server(tmp_path, {"CONSENTRY_WORKERS": "2"}, database_url=url) as (base, process):
        creds = process.cli("admin", "create-client", "--name", "ops")
        creds = {"client_id": creds["client_id"], "client_secret": creds["client_secret"]}
        audience = f"{process.issuer}api/v2/"
        verifier = CountingJWKClient(f"{base}.well-known/jwks.json")

        def verify(token: str) -> dict[str, Any]:
            key = verifier.get_signing_key_from_jwt(token)
            return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=process.issuer)

        with httpx.Client(timeout=30) as http:  # one connection: the rotation and the next token, same worker
            before = _token(http, base, creds, audience)
            assert verify(before)["gty"] == "client-credentials" and verifier.fetches == 1
            jwks = http.get(f"{base}.well-known/jwks.json")
            assert jwks.headers["cache-control"] == "public, max-age=60"
            assert len(jwks.json()["keys"]) == 2, "the current and the next key"
            r = http.post(f"{base}api/v2/keys/signing/rotate", headers={"Authorization": f"Bearer {before}"})
            assert r.status_code == 201, r.text
            rotated = r.json()["kid"]
            assert rotated != jwt.get_unverified_header(before)["kid"]
            first = _token(http, base, creds, audience)
        assert jwt.get_unverified_header(first)["kid"] == rotated, "signed with the promoted key"
        assert verify(first)["aud"] == audience
        for _ in range(8):  # fresh connections, either worker (one may not have seen the rotation yet)
            with httpx.Client(timeout=30) as http:
                assert verify(_token(http, base, creds, audience))["aud"] == audience
        assert verify(before)["aud"] == audience, "the previous key stays published until revoked"
        assert verifier.fetches == 1, "no refetch was needed"
