"""Which ``client_id`` URLs may be fetched, and fetching them without becoming an SSRF proxy.

https only, no redirects, the host resolved once and refused when it is not a public address (then the
connection goes to that exact address, with TLS verified for the host name, so DNS rebinding cannot swap it),
a total deadline and a streamed size cap. The address policy and the TLS context serve every outbound fetch
(``federation/fetch.py`` too). Tests patch ``resolve_host`` and ``fetch_document`` here, so callers look
them up on this module at call time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import certifi

from consentry.oauth.cimd.errors import refuse
from consentry.settings import Settings

MAX_CLIENT_ID_LENGTH = 255  # the clients.client_id column
DEFAULT_TTL = 300  # seconds, when the document carries no Cache-Control max-age
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


def check_url(url: str) -> str:
    """The URL's host, when ``url`` may be a CIMD client_id (draft §3); raises ``invalid_client`` otherwise."""
    if len(url) > MAX_CLIENT_ID_LENGTH:
        raise refuse(f"A client_id URL may have at most {MAX_CLIENT_ID_LENGTH} characters.")
    if not url.isascii():
        raise refuse("The client_id URL must be ASCII (internationalized host names in their xn-- form).")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url) or "#" in url or "\\" in url:
        raise refuse("The client_id URL must not contain spaces, control characters or a fragment.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise refuse("The client_id is not a valid URL.") from None
    if parts.scheme != "https" or not parts.hostname:
        raise refuse("A client_id URL must be an https:// URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise refuse("The client_id URL must not contain user information.")
    segments = parts.path.split("/")
    if parts.path in ("", "/") or any(seg in (".", "..") for seg in segments):
        raise refuse("The client_id URL must have a path without '.' or '..' segments.")
    return parts.hostname


def _matches(host: str, domains: list[str]) -> bool:
    for domain in domains:
        d = domain.strip().lower().strip(".")
        if d and (host == d or host.endswith("." + d)):
            return True
    return False


def check_domain(settings: Settings, host: str) -> None:
    if _matches(host, settings.cimd_denied_domains):
        raise refuse(f"Client ID Metadata Documents from {host} are not allowed on this server.")
    if settings.cimd_allowed_domains and not _matches(host, settings.cimd_allowed_domains):
        raise refuse(f"Client ID Metadata Documents from {host} are not allowed on this server.")


def address_problem(address: str) -> str | None:
    """Why a fetch must not connect to ``address`` (loopback, private, link-local, multicast, reserved…)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or not ip.is_global:
        return "is not a public address"
    return None


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests patch this to simulate DNS)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _pick_address(settings: Settings, host: str, port: int) -> str:
    if _is_literal(host):
        addresses = [host]
    else:
        try:
            addresses = await resolve_host(host, port)
        except (OSError, UnicodeError):
            raise refuse(f"The client_id host {host} could not be resolved.") from None
    if not addresses:
        raise refuse(f"The client_id host {host} could not be resolved.")
    if not settings.cimd_allow_private_addresses:
        for address in addresses:
            if address_problem(address):
                raise refuse(f"The client_id host {host} resolves to a non-public address; it cannot be fetched.")
    return addresses[0]


@lru_cache(maxsize=8)
def ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """The public CA bundle, plus ``ca_file`` (a test CA): shared by every outbound fetch (CIMD, federation)."""
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def _cache_seconds(settings: Settings, cache_control: str) -> float:
    value = cache_control.lower()
    if "no-store" in value or "no-cache" in value:
        ttl = 0
    else:
        match = _MAX_AGE.search(cache_control)
        ttl = int(match.group(1)) if match else DEFAULT_TTL
    return float(max(settings.cimd_cache_min_seconds, min(ttl, settings.cimd_cache_max_seconds)))


async def _download(settings: Settings, url: str, host: str, address: str) -> tuple[bytes, float]:
    import httpx  # on first use: importing httpx loads its CLI (rich, click, pygments), ≈ 7 MB a worker

    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    target = parts._replace(netloc=f"{literal}:{parts.port or 443}").geturl()
    extensions = {} if _is_literal(host) else {"sni_hostname": host}  # TLS is verified for the name, not the IP
    transport = httpx.AsyncHTTPTransport(
        verify=ssl_context(settings.cimd_ca_file), retries=0, limits=httpx.Limits(max_keepalive_connections=0)
    )
    headers = {
        "Host": parts.netloc,
        "Accept": "application/json",
        "Accept-Encoding": "identity",
        "User-Agent": "Consentry-CIMD/1",
    }
    limit = settings.cimd_max_bytes
    timeout = httpx.Timeout(settings.cimd_fetch_timeout)
    async with (
        httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False) as http,
        http.stream("GET", target, headers=headers, extensions=extensions) as response,
    ):
        if 300 <= response.status_code < 400:
            raise refuse("The client_id URL redirects; Client ID Metadata Documents must be served directly.")
        if response.status_code != 200:
            raise refuse(f"The client_id URL answered HTTP {response.status_code} instead of a metadata document.")
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise refuse("The client metadata document must be served as application/json.")
        if response.headers.get("content-encoding", "identity").lower() != "identity":
            raise refuse("The client metadata document must not be compressed.")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise refuse(f"The client metadata document is larger than {limit} bytes.")
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > limit:
                raise refuse(f"The client metadata document is larger than {limit} bytes.")
        return bytes(body), _cache_seconds(settings, response.headers.get("cache-control", ""))


async def fetch_document(settings: Settings, url: str, host: str) -> tuple[bytes, float]:
    """The document's bytes and how long it may be reused, within ``cimd_fetch_timeout`` in total."""
    import httpx  # on first use: importing httpx loads its CLI (rich, click, pygments), ≈ 7 MB a worker

    port = urlsplit(url).port or 443
    try:
        async with asyncio.timeout(settings.cimd_fetch_timeout):
            address = await _pick_address(settings, host, port)
            return await _download(settings, url, host, address)
    except TimeoutError:
        raise refuse("Fetching the client metadata document timed out.") from None
    except httpx.HTTPError as exc:
        raise refuse("The client metadata document could not be fetched.", f"{type(exc).__name__}: {exc}") from None
    except ssl.SSLError as exc:
        raise refuse("The client metadata document could not be fetched (TLS).", str(exc)) from None
