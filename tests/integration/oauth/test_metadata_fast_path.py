"""The JWKS/discovery fast path answers byte-for-byte what the normal middleware stack and routes answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from consentry.app import create_app
from consentry.runtime import Runtime
from consentry.web import MetadataFastPath

PATHS = ["/.well-known/jwks.json", "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]


def _without_fast_path(runtime: Runtime) -> Any:
    app = create_app(runtime=runtime)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not MetadataFastPath]
    return app


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("origin", [None, "https://spa.example.com"])
async def test_fast_path_matches_the_routes(runtime: Runtime, path: str, origin: str | None) -> None:
    headers = {"Origin": origin} if origin else {}
    answers = []
    for app in (create_app(runtime=runtime), _without_fast_path(runtime)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            answers.append(await c.get(path, headers=headers))
    fast, slow = answers
    assert fast.status_code == slow.status_code == 200
    assert fast.content == slow.content
    assert sorted(fast.headers.multi_items()) == sorted(slow.headers.multi_items())
    if origin:
        assert fast.headers["access-control-allow-origin"] == "*"


async def test_other_methods_and_paths_take_the_normal_stack(client: httpx.AsyncClient) -> None:
    assert (await client.post("/.well-known/jwks.json")).status_code == 405
    assert (await client.get("/.well-known/nothing")).status_code == 404
    assert (await client.get("/.well-known/jwks.json?x=1")).json()["keys"]
