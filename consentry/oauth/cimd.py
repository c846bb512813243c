"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): an HTTPS URL as ``client_id``.

The URL is fetched by the authorization server (the client never registers), so the fetch is an SSRF
surface: https only, no redirects, the host resolved once and refused when it is not a public address
(then the connection goes to that exact address, with TLS verified for the host name, so DNS rebinding
cannot swap it), a total deadline and a streamed size cap. A valid document becomes a third-party,
strict, public ``clients`` row (``registration_type: "cimd"``), reused until its HTTP cache lifetime ends.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
import ssl
import weakref
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import certifi

from consentry.catalog import Catalog
from consentry.domain import ClientInfo
from consentry.oauth.client_rules import display_name_problem
from consentry.oauth.errors import INVALID_CLIENT, OAuthError
from consentry.oauth.redirect_uri import callback_problem
from consentry.runtime import Runtime
from consentry.services import audit, webhooks
from consentry.services.webhook_rules import CLIENT_CREATED
from consentry.settings import Settings
from consentry.storage import registrations
from consentry.storage.gone import duplicate_key, missing_parent
from consentry.storage.models import Client
from consentry.tenant import flag

MAX_CLIENT_ID_LENGTH = 255  # the clients.client_id column
DEFAULT_TTL = 300  # seconds, when the document carries no Cache-Control max-age
FAILURE_TTL = 10.0  # seconds a failed fetch is remembered, so one URL cannot make us fetch in a loop
MAX_REDIRECT_URIS = 20
ALLOWED_GRANTS = ("authorization_code", "refresh_token")
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


def _refuse(description: str, debug: str = "") -> OAuthError:
    """``invalid_client`` (400: nothing was authenticated), never redirected: the redirect URIs are unknown."""
    return replace(INVALID_CLIENT, description=description, debug=debug, status=400, redirectable=False)


@dataclass
class _State:
    """Per-process helpers (not authoritative: the cache lifetime is stored in the clients row)."""

    memo: dict[str, tuple[float, ClientInfo]] = field(default_factory=dict)
    failures: dict[str, tuple[float, OAuthError]] = field(default_factory=dict)
    locks: dict[str, tuple[asyncio.Lock, int]] = field(default_factory=dict)
    generation: int = -1


_STATES: weakref.WeakKeyDictionary[Catalog, _State] = weakref.WeakKeyDictionary()


def _state(rt: Runtime) -> _State:
    """This process's CIMD memo, emptied whenever the catalog is invalidated (a client deleted or changed)."""
    state = _STATES.setdefault(rt.catalog, _State())
    if state.generation != rt.catalog.generation:
        state.memo.clear()
        state.failures.clear()
        state.generation = rt.catalog.generation
    return state


def check_url(url: str) -> str:
    """The URL's host, when ``url`` may be a CIMD client_id (draft §3); raises ``invalid_client`` otherwise."""
    if len(url) > MAX_CLIENT_ID_LENGTH:
        raise _refuse(f"A client_id URL may have at most {MAX_CLIENT_ID_LENGTH} characters.")
    if not url.isascii():
        raise _refuse("The client_id URL must be ASCII (internationalized host names in their xn-- form).")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url) or "#" in url or "\\" in url:
        raise _refuse("The client_id URL must not contain spaces, control characters or a fragment.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise _refuse("The client_id is not a valid URL.") from None
    if parts.scheme != "https" or not parts.hostname:
        raise _refuse("A client_id URL must be an https:// URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise _refuse("The client_id URL must not contain user information.")
    segments = parts.path.split("/")
    if parts.path in ("", "/") or any(seg in (".", "..") for seg in segments):
        raise _refuse("The client_id URL must have a path without '.' or '..' segments.")
    return parts.hostname


def _matches(host: str, domains: list[str]) -> bool:
    for domain in domains:
        d = domain.strip().lower().strip(".")
        if d and (host == d or host.endswith("." + d)):
            return True
    return False


def check_domain(settings: Settings, host: str) -> None:
    if _matches(host, settings.cimd_denied_domains):
        raise _refuse(f"Client ID Metadata Documents from {host} are not allowed on this server.")
    if settings.cimd_allowed_domains and not _matches(host, settings.cimd_allowed_domains):
        raise _refuse(f"Client ID Metadata Documents from {host} are not allowed on this server.")


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
            raise _refuse(f"The client_id host {host} could not be resolved.") from None
    if not addresses:
        raise _refuse(f"The client_id host {host} could not be resolved.")
    if not settings.cimd_allow_private_addresses:
        for address in addresses:
            if address_problem(address):
                raise _refuse(f"The client_id host {host} resolves to a non-public address; it cannot be fetched.")
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
            raise _refuse("The client_id URL redirects; Client ID Metadata Documents must be served directly.")
        if response.status_code != 200:
            raise _refuse(f"The client_id URL answered HTTP {response.status_code} instead of a metadata document.")
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise _refuse("The client metadata document must be served as application/json.")
        if response.headers.get("content-encoding", "identity").lower() != "identity":
            raise _refuse("The client metadata document must not be compressed.")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _refuse(f"The client metadata document is larger than {limit} bytes.")
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > limit:
                raise _refuse(f"The client metadata document is larger than {limit} bytes.")
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
        raise _refuse("Fetching the client metadata document timed out.") from None
    except httpx.HTTPError as exc:
        raise _refuse("The client metadata document could not be fetched.", f"{type(exc).__name__}: {exc}") from None
    except ssl.SSLError as exc:
        raise _refuse("The client metadata document could not be fetched (TLS).", str(exc)) from None


def _optional_str(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise _refuse(f"The client metadata document's {key} must be a string.")
    return value


def validate_document(body: bytes, url: str) -> dict[str, Any]:
    """The client's settings from a fetched document (draft §4); raises ``invalid_client`` with the reason."""
    try:
        doc = json.loads(body)
    except ValueError:
        raise _refuse("The client metadata document is not valid JSON.") from None
    if not isinstance(doc, dict):
        raise _refuse("The client metadata document must be a JSON object.")
    if doc.get("client_id") != url:  # draft §4.1: simple string comparison
        raise _refuse("The client metadata document's client_id does not equal its URL.")
    if any(key.startswith("client_secret") for key in doc):  # draft §4.1: no shared secrets
        raise _refuse("A client metadata document must not contain client_secret members.")
    if doc.get("token_endpoint_auth_method") not in (None, "none"):
        raise _refuse("A client metadata document client must use token_endpoint_auth_method none.")
    uris = doc.get("redirect_uris")
    if not isinstance(uris, list) or not uris or len(uris) > MAX_REDIRECT_URIS:
        raise _refuse(f"The client metadata document needs redirect_uris: 1 to {MAX_REDIRECT_URIS} URLs.")
    for uri in uris:
        problem = callback_problem(uri, native=True, dcr=True) if isinstance(uri, str) else "must be a string"
        if problem:
            shown = uri[:100] if isinstance(uri, str) else "?"
            raise _refuse(f"The client metadata document's redirect_uris entry '{shown}' {problem}.")
    grants = doc.get("grant_types")
    if grants is not None and (not isinstance(grants, list) or not all(g in ALLOWED_GRANTS for g in grants)):
        raise _refuse("A client metadata document may use only the authorization_code and refresh_token grants.")
    if doc.get("response_types") not in (None, ["code"]):
        raise _refuse('A client metadata document may use only response_types ["code"].')
    name = _optional_str(doc, "client_name")
    if name is not None and (len(name) > 255 or display_name_problem(name)):
        raise _refuse(
            "The client metadata document's client_name must be 1 to 255 visible characters without '<' or '>'."
        )
    logo = _optional_str(doc, "logo_uri")
    if logo is not None and (not logo.startswith("https://") or callback_problem(logo, native=False)):
        raise _refuse("The client metadata document's logo_uri must be an https URL.")
    return {"name": name.strip() if name else None, "logo_uri": logo, "callbacks": list(dict.fromkeys(uris))}


async def _stored(rt: Runtime, url: str) -> tuple[ClientInfo, float] | None:
    async with rt.db.read() as s:
        row = await registrations.client(s, url)
        if row is None:
            return None
        if row.registration_type != "cimd":
            raise _refuse("This client_id is registered by other means and cannot be a metadata document URL.")
        return ClientInfo.from_row(row), float(((row.attributes or {}).get("cimd") or {}).get("expires_at") or 0)


def _new_row(url: str, name: str, meta: dict[str, Any], attributes: dict[str, Any], now: float) -> Client:
    """A third-party, strict, public native client: no secret, code + refresh only (SPEC T3, T9)."""
    return Client(
        client_id=url,
        name=name,
        app_type="native",
        is_first_party=False,
        third_party_security_mode="strict",
        redirection_policy="open_redirect_protection",
        token_endpoint_auth_method="none",
        secret_hash=None,
        callbacks=meta["callbacks"],
        allowed_logout_urls=[],
        web_origins=[],
        allowed_origins=[],
        grant_types=list(ALLOWED_GRANTS),
        logo_uri=meta["logo_uri"],
        registration_type="cimd",
        status="active",
        attributes=attributes,
        created_at=now,
        updated_at=now,
    )


async def _upsert(rt: Runtime, url: str, host: str, meta: dict[str, Any], ttl: float) -> ClientInfo:
    """Insert or refresh the client row, in one transaction."""
    now = rt.clock.now()
    name = meta["name"] or host
    async with rt.db.transaction() as s:
        row = await registrations.client(s, url)
        if row is not None and row.registration_type != "cimd":
            raise _refuse("This client_id is registered by other means and cannot be a metadata document URL.")
        cimd = {"fetched_at": now, "expires_at": now + ttl}
        if row is None:
            row = _new_row(url, name, meta, {"metadata_url_host": host, "cimd": cimd}, now)
            s.add(row)
            await s.flush()
            if flag(await rt.catalog.tenant(), "enable_client_connections"):
                await registrations.enable_every_connection(s, url)
            audit.record(
                s,
                now,
                audit.CLIENT_CREATED,
                f"Client '{name}' registered by metadata document",
                client_id=url,
                details={"registration_type": "cimd", "host": host},
            )
            await webhooks.emit(rt, s, CLIENT_CREATED, {**webhooks.client_data(row), "actor": None})
        else:
            changed = (row.name, row.logo_uri, list(row.callbacks or [])) != (name, meta["logo_uri"], meta["callbacks"])
            row.name, row.logo_uri, row.callbacks = name, meta["logo_uri"], meta["callbacks"]
            row.attributes = {**(row.attributes or {}), "metadata_url_host": host, "cimd": cimd}
            row.updated_at = now
            if changed:
                audit.record(
                    s,
                    now,
                    audit.CLIENT_UPDATED,
                    f"Client '{name}' metadata document changed",
                    client_id=url,
                    details={"registration_type": "cimd"},
                )
        info = ClientInfo.from_row(row)
    return info


async def _refresh(rt: Runtime, url: str, host: str) -> tuple[ClientInfo, float]:
    """The client and until when it may be reused without fetching again."""
    st, now = _state(rt), rt.clock.now()
    failed = st.failures.get(url)
    if failed and failed[0] > now:
        raise failed[1]
    stored = await _stored(rt, url)
    if stored and stored[1] > now:
        return stored
    try:
        body, ttl = await fetch_document(rt.settings, url, host)
        meta = validate_document(body, url)
    except OAuthError as exc:
        if len(st.failures) > 10_000:
            st.failures.clear()
        st.failures[url] = (now + FAILURE_TTL, exc)
        raise
    for attempt in range(2):
        try:
            return await _upsert(rt, url, host, meta, ttl), now + ttl
        except Exception as exc:  # another process inserted the same client_id first: update it instead
            if not (duplicate_key(exc) or missing_parent(exc)):
                raise
            if attempt:
                raise _refuse("The client could not be registered; try again.") from None
    raise AssertionError("unreachable")


async def resolve_cimd_client(rt: Runtime, client_id_url: str) -> ClientInfo:
    """The client whose ``client_id`` is this https URL, fetching its metadata document when needed.

    Raises ``OAuthError`` (``invalid_client``, not redirectable) with a description the client can act on.
    """
    host = check_url(client_id_url)
    if not (await rt.catalog.tenant()).get("client_id_metadata_document_supported", True):
        raise _refuse("Client ID Metadata Documents are not enabled on this server.")
    check_domain(rt.settings, host)
    st, now = _state(rt), rt.clock.now()
    memo = st.memo.get(client_id_url)
    if memo and memo[0] > now:
        return memo[1]
    lock, users = st.locks.get(client_id_url, (asyncio.Lock(), 0))
    st.locks[client_id_url] = (lock, users + 1)
    try:
        async with lock:  # one fetch per URL at a time in this process
            info, expires = await _refresh(rt, client_id_url, host)
    finally:
        lock, users = st.locks[client_id_url]
        if users <= 1:
            del st.locks[client_id_url]
        else:
            st.locks[client_id_url] = (lock, users - 1)
    if rt.settings.cache_ttl > 0:
        if len(st.memo) > 10_000:
            st.memo.clear()
        st.memo[client_id_url] = (min(expires, now + rt.settings.cache_ttl), info)
    return info
