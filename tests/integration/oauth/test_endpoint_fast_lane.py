"""``/oauth/token`` and ``/oauth/introspect`` answer the same through the fast lane as through FastAPI's router."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from consentry.app import create_app
from consentry.runtime import Runtime
from consentry.web import EndpointFastLane


def _without_fast_lane(runtime: Runtime) -> Any:
    app = create_app(runtime=runtime)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not EndpointFastLane]
    return app


async def _both(runtime: Runtime, method: str, path: str, **kw: Any) -> tuple[httpx.Response, httpx.Response]:
    answers = []
    for app in (create_app(runtime=runtime), _without_fast_lane(runtime)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            answers.append(await c.request(method, path, **kw))
    return answers[0], answers[1]


def _same(fast: httpx.Response, slow: httpx.Response) -> None:
    assert fast.status_code == slow.status_code
    assert fast.content == slow.content
    assert sorted(fast.headers.multi_items()) == sorted(slow.headers.multi_items())


@pytest.mark.parametrize(
    ("method", "path", "kw"),
    [
        (
            "POST",
            "/oauth/token",
            {"data": {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}},
        ),
        ("POST", "/oauth/token", {"data": {"grant_type": "nope", "client_id": "x"}}),
        ("POST", "/oauth/token", {"data": {}}),
        ("POST", "/oauth/token", {"content": b"{oops", "headers": {"content-type": "application/json"}}),
        (
            "POST",
            "/oauth/token",
            {
                "data": {"grant_type": "client_credentials"},
                "headers": {
                    "authorization": "Basic " + base64.b64encode(b"a:b").decode(),
                    "origin": "https://spa.example.com",
                },
            },
        ),
        ("POST", "/oauth/introspect", {"data": {"token": "abc"}}),
        ("GET", "/oauth/token", {}),
        ("POST", "/oauth/token/", {"data": {}}),
    ],
)
async def test_errors_are_identical(runtime: Runtime, method: str, path: str, kw: dict[str, Any]) -> None:
    _same(*await _both(runtime, method, path, **kw))


async def test_success_has_the_same_shape(runtime: Runtime, m2m_credentials: dict[str, str]) -> None:
    data = {"grant_type": "client_credentials", "audience": runtime.settings.management_audience, **m2m_credentials}
    fast, slow = await _both(runtime, "POST", "/oauth/token", data=data)
    assert fast.status_code == slow.status_code == 200
    assert fast.json().keys() == slow.json().keys()
    drop = {"content-length"}
    assert sorted((k, v) for k, v in fast.headers.multi_items() if k not in drop) == sorted(
        (k, v) for k, v in slow.headers.multi_items() if k not in drop
    )
    token = fast.json()["access_token"]
    fast, slow = await _both(runtime, "POST", "/oauth/introspect", data={"token": token, **m2m_credentials})
    _same(fast, slow)
    assert fast.json()["active"] is True
