"""Actors for the page tests: an admin and an end user, each with their own cookie jar, signed in for real."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from consentry.runtime import Runtime
from consentry.services.users import create_user
from consentry.tenant import DEFAULT_DIRECTORY
from tests.conftest import ISSUER
from tests.support.flow import hidden

PASSWORD = "correct horse battery"
ADMIN_EMAIL = "admin@example.com"
USER_EMAIL = "alice@example.com"

Browser = Callable[[], httpx.AsyncClient]


def text_of(html: str) -> str:
    """The page's visible text, tags removed and white space folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def csrf_of(html: str) -> str:
    return hidden(html, "csrf")


async def make_person(rt: Runtime, email: str, *, is_admin: bool = False) -> str:
    async with rt.db.transaction() as s:
        row, _ = await create_user(
            rt, s, connection=DEFAULT_DIRECTORY, email=email, password=PASSWORD, is_admin=is_admin
        )
    return row.user_id


async def sign_in(client: httpx.AsyncClient, email: str, next_path: str) -> httpx.Response:
    """The universal login without an application: ``/u/login?next=…``, then the redirect it answers."""
    page = await client.get("/u/login", params={"next": next_path})
    assert page.status_code == 200, page.text
    form = {
        "state": hidden(page.text, "state"),
        "csrf": hidden(page.text, "csrf"),
        "username": email,
        "password": PASSWORD,
    }
    r = await client.post("/u/login", data=form)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"{ISSUER}{next_path.lstrip('/')}"
    return r


@pytest.fixture
async def browser(app: Any) -> AsyncIterator[Browser]:
    """A factory of independent clients (separate cookie jars), closed at the end of the test."""
    async with AsyncExitStack() as stack:

        def make() -> httpx.AsyncClient:
            c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER.rstrip("/"))
            stack.push_async_callback(c.aclose)
            return c

        yield make


@pytest.fixture
async def admin_ids(runtime: Runtime) -> dict[str, str]:
    return {
        "admin": await make_person(runtime, ADMIN_EMAIL, is_admin=True),
        "user": await make_person(runtime, USER_EMAIL),
    }


@pytest.fixture
async def admin(browser: Browser, admin_ids: dict[str, str]) -> httpx.AsyncClient:
    """A client signed in as a dashboard administrator."""
    c = browser()
    await sign_in(c, ADMIN_EMAIL, "/admin")
    return c


@pytest.fixture
async def alice(browser: Browser, admin_ids: dict[str, str]) -> httpx.AsyncClient:
    """A client signed in as an end user (no dashboard role)."""
    c = browser()
    await sign_in(c, USER_EMAIL, "/u/apps")
    return c


async def post_form(client: httpx.AsyncClient, page_path: str, action: str, data: dict[str, Any]) -> httpx.Response:
    """Load ``page_path`` for its CSRF token, then POST ``data`` to ``action`` like the browser would."""
    page = await client.get(page_path)
    assert page.status_code == 200, page.text[:500]
    return await client.post(action, data={"csrf": csrf_of(page.text), **data})
