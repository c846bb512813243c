"""Which browser origins may call the CORS endpoints: every active client's ``web_origins``,
``allowed_origins`` and the origins of its http(s) callbacks (Auth0 allows callback origins by default).

The set is read from the database and kept ``cache_ttl`` seconds per process, and dropped with the
catalog's entries (a configuration write, seen by every process when it returns: ``config_cache.py``).
It is not a security boundary: the CORS endpoints take no cookies, so CORS only decides which web apps a
browser lets read the answers; client authentication and PKCE protect the endpoints themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from urllib.parse import urlsplit

from consentry.runtime import Runtime
from consentry.storage import client_origins

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(value: str) -> str | None:
    """The ASCII serialization of a URL's origin (RFC 6454 §6.1), or None when it has none."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != DEFAULT_PORTS[scheme] else "")


def request_origin_ok(origin: str) -> bool:
    """A browser's ``Origin`` header is already serialized; anything else (paths, ``null``) is refused."""
    return origin_of(origin) == origin


def collect(rows: Iterable[tuple[list[str] | None, list[str] | None, list[str] | None]]) -> frozenset[str]:
    found: set[str] = set()
    for web_origins, allowed_origins, callbacks in rows:
        for value in [*(web_origins or ()), *(allowed_origins or ()), *(callbacks or ())]:
            origin = origin_of(value)
            if origin:
                found.add(origin)
    return frozenset(found)


class AllowedOrigins:
    """A tiny per-process TTL cache of the allowed origin set."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._value: frozenset[str] | None = None
        self._expires = float("-inf")
        self._generation = -1
        self._lock = asyncio.Lock()

    async def _load(self) -> frozenset[str]:
        return collect(await client_origins.active_origin_lists(self.rt.db))

    def _valid(self) -> bool:
        return (
            self._value is not None
            and self.rt.clock.now() < self._expires
            and self._generation == self.rt.catalog.generation
        )

    async def get(self) -> frozenset[str]:
        await self.rt.catalog.fresh()
        if self._valid():
            assert self._value is not None
            return self._value
        async with self._lock:
            if self._valid():
                assert self._value is not None
                return self._value
            generation = self.rt.catalog.generation
            value = await self._load()
            self._value, self._expires = value, self.rt.clock.now() + self.rt.settings.cache_ttl
            self._generation = generation
            return value

    async def allows(self, origin: str) -> bool:
        return request_origin_ok(origin) and origin in await self.get()
