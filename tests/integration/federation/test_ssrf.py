"""The upstream fetches are SSRF-safe: without the test setting a loopback provider is never contacted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.federation.conftest import choose, to_login_page
from tests.integration.flows.conftest import App
from tests.support.upstream_idp import UpstreamIdP


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}  # production defaults: public https providers only


async def test_a_loopback_provider_is_refused_before_any_request(
    client: httpx.AsyncClient, idp: UpstreamIdP, partner: App
) -> None:
    step, _ = await to_login_page(client, partner)
    r = await choose(client, step, "corp")
    assert r.status_code == 502 and 'data-error="temporarily_unavailable"' in r.text
    assert "https://" in r.text and not idp.token_requests


async def test_an_https_provider_on_a_private_address_is_refused(
    client: httpx.AsyncClient, runtime: Any, idp: UpstreamIdP, partner: App
) -> None:
    from tests.integration.federation.conftest import make_connection

    await make_connection(runtime, idp, "internal", issuer="https://127.0.0.1:9/")
    step, _ = await to_login_page(client, partner)
    r = await choose(client, step, "internal")
    assert r.status_code == 502 and "non-public address" in r.text
