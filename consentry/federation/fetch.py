"""Requests to an upstream identity provider (discovery, JWKS, token endpoint), SSRF-safe like the CIMD fetcher.

An administrator types these URLs, but a discovery document names further ones, so each request is checked:
https only, no redirects, the host resolved once and refused when it is not a public address (the connection
then goes to that exact address with TLS verified for the host name, so DNS rebinding cannot swap it), a total
deadline and a size cap. ``connections_allow_private_addresses`` (development and tests, refused in
production) also permits loopback/private hosts and plain http.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from typing import Any
from urllib.parse import quote_plus, urlsplit

from consentry.oauth.cimd.fetch import address_problem, resolve_host, ssl_context
from consentry.settings import Settings

MAX_BYTES = 256 * 1024
USER_AGENT = "Consentry-Federation/1"


class UpstreamError(Exception):
    """The provider could not be reached or answered something unusable; ``str()`` is safe to show."""


def check_url(settings: Settings, url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL we may call; raises ``UpstreamError`` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UpstreamError("The identity provider's URL is not valid.") from None
    schemes = ("https", "http") if settings.connections_allow_private_addresses else ("https",)
    if parts.scheme not in schemes or not parts.hostname or parts.username is not None or "#" in url:
        raise UpstreamError("The identity provider's URLs must be https:// URLs with a host.")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def _pick_address(settings: Settings, host: str, port: int) -> str:
    try:
        addresses = await resolve_host(host, port)
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        raise UpstreamError(f"The identity provider's host {host} could not be resolved.")
    if not settings.connections_allow_private_addresses and any(address_problem(a) for a in addresses):
        raise UpstreamError(f"The identity provider's host {host} resolves to a non-public address.")
    return addresses[0]


def basic_auth(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: both parts form-urlencoded, then Basic."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


async def _send(
    settings: Settings,
    method: str,
    url: str,
    headers: dict[str, str],
    form: dict[str, str] | None,
    host: str,
    address: str,
) -> tuple[int, bytes]:
    """One request to the pinned ``address`` (``Host`` and TLS name stay the URL's), body read up to the cap."""
    import httpx  # on first use: importing httpx loads its CLI (rich, click, pygments), ≈ 7 MB a worker

    target = httpx.URL(url).copy_with(host=address)
    headers = {**headers, "Host": urlsplit(url).netloc.rsplit("@", 1)[-1]}
    transport = httpx.AsyncHTTPTransport(
        verify=ssl_context(settings.connections_ca_file), retries=0, limits=httpx.Limits(max_keepalive_connections=0)
    )
    async with (
        httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False) as http,
        http.stream(method, target, headers=headers, data=form, extensions={"sni_hostname": host}) as response,
    ):
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > MAX_BYTES:
                raise UpstreamError("The identity provider's answer is too large.")
        return response.status_code, bytes(body)


async def request_json(
    settings: Settings,
    method: str,
    url: str,
    *,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """(status, JSON object) of one request, within ``connections_fetch_timeout`` in total."""
    import httpx  # on first use: importing httpx loads its CLI (rich, click, pygments), ≈ 7 MB a worker

    _, host, port = check_url(settings, url)
    sent = {"Accept": "application/json", "Accept-Encoding": "identity", "User-Agent": USER_AGENT, **(headers or {})}
    try:
        async with asyncio.timeout(settings.connections_fetch_timeout):
            address = await _pick_address(settings, host, port)
            status, body = await _send(settings, method, url, sent, form, host, address)
    except TimeoutError:
        raise UpstreamError("The identity provider did not answer in time.") from None
    except (httpx.HTTPError, ssl.SSLError, OSError):
        raise UpstreamError("The identity provider could not be reached.") from None
    if 300 <= status < 400:
        raise UpstreamError("The identity provider answered with a redirect; its endpoints must answer directly.")
    try:
        data = json.loads(body)
    except ValueError:
        raise UpstreamError(f"The identity provider answered HTTP {status} without JSON.") from None
    if not isinstance(data, dict):
        raise UpstreamError("The identity provider's answer is not a JSON object.")
    return status, data


async def get_json(settings: Settings, url: str) -> dict[str, Any]:
    status, data = await request_json(settings, "GET", url)
    if status != 200:
        raise UpstreamError(f"The identity provider answered HTTP {status} for {urlsplit(url).path or '/'}.")
    return data
