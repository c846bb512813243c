"""Resolving an ``https://`` client_id to its client: the per-process memo, one fetch per URL at a time,
failures remembered briefly, and the stored row reused until its document's cache lifetime ends."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field

from consentry.config_cache import Catalog
from consentry.config_records import ClientInfo
from consentry.oauth.cimd import fetch, store
from consentry.oauth.cimd.document import validate_document
from consentry.oauth.cimd.errors import refuse
from consentry.oauth.errors import OAuthError
from consentry.runtime import Runtime
from consentry.storage.gone import duplicate_key, missing_parent

FAILURE_TTL = 10.0  # seconds a failed fetch is remembered, so one URL cannot make us fetch in a loop


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


async def _refresh(rt: Runtime, url: str, host: str) -> tuple[ClientInfo, float]:
    """The client and until when it may be reused without fetching again."""
    st, now = _state(rt), rt.clock.now()
    failed = st.failures.get(url)
    if failed and failed[0] > now:
        raise failed[1]
    current = await store.stored(rt, url)
    if current and current[1] > now:
        return current
    try:
        body, ttl = await fetch.fetch_document(rt.settings, url, host)
        meta = validate_document(body, url)
    except OAuthError as exc:
        if len(st.failures) > 10_000:
            st.failures.clear()
        st.failures[url] = (now + FAILURE_TTL, exc)
        raise
    for attempt in range(2):
        try:
            return await store.upsert(rt, url, host, meta, ttl), now + ttl
        except Exception as exc:  # another process inserted the same client_id first: update it instead
            if not (duplicate_key(exc) or missing_parent(exc)):
                raise
            if attempt:
                raise refuse("The client could not be registered; try again.") from None
    raise AssertionError("unreachable")


async def resolve_cimd_client(rt: Runtime, client_id_url: str) -> ClientInfo:
    """The client whose ``client_id`` is this https URL, fetching its metadata document when needed.

    Raises ``OAuthError`` (``invalid_client``, not redirectable) with a description the client can act on.
    """
    host = fetch.check_url(client_id_url)
    if not (await rt.catalog.tenant()).get("client_id_metadata_document_supported", True):
        raise refuse("Client ID Metadata Documents are not enabled on this server.")
    fetch.check_domain(rt.settings, host)
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
