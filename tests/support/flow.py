"""Drive the browser side of the code flow over HTTP (no JavaScript needed: the pages are plain forms)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

ISSUER_HOST = "testserver"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, f"no hidden field {name} in page"
    return m.group(1)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Step:
    """Where the browser stopped: a page of ours (``page``) or a redirect to the client (``callback``)."""

    response: httpx.Response
    callback: str | None = None

    @property
    def page(self) -> str:
        return self.response.text

    @property
    def text(self) -> str:
        """The page's visible text, tags removed and white space folded."""
        return " ".join(re.sub(r"<[^>]+>", " ", self.response.text).split()).replace(" :", ":")

    @property
    def params(self) -> dict[str, str]:
        assert self.callback, f"no callback; page status {self.response.status_code}: {self.page[:300]}"
        return query(self.callback)

    @property
    def on_login(self) -> bool:
        return self.callback is None and 'name="password"' in self.page

    @property
    def on_consent(self) -> bool:
        return self.callback is None and 'name="action" value="accept"' in self.page


async def follow(client: httpx.AsyncClient, response: httpx.Response) -> Step:
    """Follow redirects inside the server; stop at a page or at a redirect that leaves it."""
    for _ in range(10):
        if response.status_code not in (302, 303):
            return Step(response)
        location = response.headers["location"]
        parts = urlsplit(location)
        if parts.netloc not in ("", ISSUER_HOST) or parts.scheme not in ("", "http", "https"):
            return Step(response, location)
        response = await client.get(location)
    raise AssertionError("redirect loop")


async def authorize(client: httpx.AsyncClient, params: dict[str, Any]) -> Step:
    return await follow(client, await client.get("/authorize", params=params))


async def login(client: httpx.AsyncClient, step: Step, username: str, password: str) -> Step:
    assert step.on_login, step.page[:500]
    form = {
        "state": hidden(step.page, "state"),
        "csrf": hidden(step.page, "csrf"),
        "username": username,
        "password": password,
    }
    return await follow(client, await client.post("/u/login", data=form))


async def consent(
    client: httpx.AsyncClient,
    step: Step,
    action: str = "accept",
    optional: list[str] | None = None,
    duration: int | str | None = None,
) -> Step:
    """Answer the consent screen; ``duration`` (seconds) is the access duration chosen (None: send none)."""
    assert step.on_consent, step.page[:500]
    form: dict[str, Any] = {"state": hidden(step.page, "state"), "csrf": hidden(step.page, "csrf"), "action": action}
    if optional is not None:
        form["optional"] = optional
    if duration is not None:
        form["duration"] = str(duration)
    return await follow(client, await client.post("/u/consent", data=form))


async def exchange(
    client: httpx.AsyncClient,
    code: str,
    client_id: str,
    redirect_uri: str,
    verifier: str | None,
    secret: str | None = None,
    **extra: str,
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        **extra,
    }
    if verifier:
        data["code_verifier"] = verifier
    if secret:
        data["client_secret"] = secret
    return await client.post("/oauth/token", data=data)
