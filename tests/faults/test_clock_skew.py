"""Clock skew between server processes: tolerated within ``LEEWAY`` (30 s), refused beyond, never a 500.

Two processes on one database: the issuer runs with a clock ``offset`` seconds off, the verifier with the
real one (``time.time()``, which is what PyJWT checks against).

- Access tokens (here the Management API's): ``iat`` up to 30 s in the verifier's future is accepted, more
  is a 401 (``iat`` "not yet valid"); ``exp`` up to 30 s in its past is accepted, more is a 401.
- Authorization codes carry the issuing process's ``expires_at`` (60 s after issue): the redeeming process
  compares it with its own clock, so an issuer ``d`` seconds behind leaves the client ``60 - d`` seconds,
  and beyond 60 s the code is refused at once as expired (``invalid_grant``). An issuer ahead only
  lengthens the window by the skew.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from consentry.app import create_app
from consentry.clock import Clock
from consentry.runtime import Runtime
from consentry.tokens.jwt import LEEWAY
from tests.conftest import ISSUER, make_settings
from tests.integration.flows.conftest import CALLBACK, grant, make_app
from tests.integration.flows.conftest import social as social  # noqa: F401 - the fixture, re-exported
from tests.load.report import record
from tests.security.conftest import SQLITE_ONLY, params, through
from tests.support.flow import authorize, exchange, pkce_pair

pytestmark = [pytest.mark.fault, SQLITE_ONLY]

DAY = 86400  # the Management API's access token lifetime


class OffsetClock(Clock):
    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset


async def _skewed_client(runtime: Runtime, tmp_path: Any, offset: float) -> tuple[Runtime, httpx.AsyncClient]:
    """Another process on the same database whose clock is ``offset`` seconds off."""
    other = Runtime.create(make_settings(runtime.settings.database_url, tmp_path), OffsetClock(offset))
    await other.keys.reload()
    transport = httpx.ASGITransport(app=create_app(runtime=other))
    return other, httpx.AsyncClient(transport=transport, base_url=ISSUER.rstrip("/"))


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (LEEWAY - 10, True),  # issuer ahead: iat 20 s in the future
        (LEEWAY + 15, False),  # iat 45 s in the future
        (-(DAY + LEEWAY - 10), True),  # issuer behind: expired 20 s ago
        (-(DAY + LEEWAY + 15), False),  # expired 45 s ago
    ],
    ids=["ahead-20s", "ahead-45s", "expired-20s-ago", "expired-45s-ago"],
)
async def test_access_tokens_from_a_skewed_process(
    runtime: Runtime,
    client: httpx.AsyncClient,
    m2m_credentials: dict[str, str],
    tmp_path: Any,
    offset: float,
    accepted: bool,
) -> None:
    other, skewed = await _skewed_client(runtime, tmp_path, offset)
    try:
        r = await skewed.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "audience": runtime.settings.management_audience,
                **m2m_credentials,
            },
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
    finally:
        await skewed.aclose()
        await other.db.dispose()
    r = await client.get("/api/v2/clients", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == (200 if accepted else 401), r.text
    if not accepted:
        assert r.json()["errorCode"] == "invalid_token"
    if offset == LEEWAY + 15:
        record(
            f"clock skew: tokens accepted up to {LEEWAY} s ahead/past exp, refused beyond (401); codes keep "
            f"60 s minus the skew"
        )


@pytest.mark.parametrize(
    ("offset", "valid"),
    [(40, True), (-40, True), (-70, False)],
    ids=["issuer-ahead-40s", "issuer-behind-40s", "issuer-behind-70s"],
)
async def test_codes_from_a_skewed_process(
    social: Runtime, client: httpx.AsyncClient, tmp_path: Any, offset: float, valid: bool
) -> None:
    await grant(social, default=True)
    app = await make_app(social, third_party=True)
    other, skewed = await _skewed_client(social, tmp_path, offset)
    try:
        verifier, challenge = pkce_pair()
        step = await through(skewed, await authorize(skewed, params(app, challenge)))
        code = step.params["code"]
    finally:
        await skewed.aclose()
        await other.db.dispose()
    r = await exchange(client, code, app.client_id, CALLBACK, verifier, app.secret)
    if valid:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 403 and r.json()["error"] == "invalid_grant", r.text
        assert "expired" in r.json()["error_description"]
