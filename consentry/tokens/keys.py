"""RS256 signing keys: generation, encryption at rest, JWKS, rotation and revocation.

States (``consentry.tokens.key_states``): ``current`` signs; ``next`` is published one rotation before it
signs; ``previous`` keys stay published until revoked; ``revoked`` keys are gone from the JWKS. Every process
reloads the key set from the database at most every ``ttl`` seconds, at once when the configuration
generation it watches changes (``watch``), and when it meets an unknown ``kid``, so a rotation by one process
reaches the others. A process that has not yet seen a rotation keeps signing with the key that was current,
which stays published as ``previous``: no verifier rejects its tokens meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from consentry.clock import Clock
from consentry.storage import signing_keys
from consentry.storage.db import Database, OrmUnit
from consentry.storage.models import SigningKey
from consentry.storage.notify import KEYS, Notifier
from consentry.tokens import key_states
from consentry.tokens.ids import random_alnum
from consentry.tokens.key_states import CURRENT, PREVIOUS, REVOKED, Change, KeyView

# Cache-Control max-age of the JWKS. Rotation does not depend on it (the key that will sign next is published
# a rotation ahead); it bounds how long a verifier may still trust a revoked key, and how soon a new next key
# reaches every verifier, hence the least safe interval between two rotations (docs/api.md, "Signing keys").
JWKS_MAX_AGE = 60
JWKS_CACHE_CONTROL = f"public, max-age={JWKS_MAX_AGE}"
# PostgreSQL: rotations, revocations and the bootstrap of keys take this transaction lock, so that two of them
# (two nodes starting at once, two admins rotating) never both promote or both create a next key. SQLite writes
# are serialized by BEGIN IMMEDIATE already.


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_kek(configured: str, data_dir: Path) -> bytes:
    """The key-encryption key: from settings, else a random one kept in ``{data_dir}/kek`` (mode 0600)."""
    if configured:
        return configured.encode()
    path = data_dir / "kek"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip().encode()


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    state: str
    private_key: rsa.RSAPrivateKey | None
    public_key: Any
    jwk: dict[str, Any]


def new_key_row(kek: bytes, now: float, tenant: str, state: str = CURRENT) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = random_alnum(24)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, tenant)])
    issued = dt.datetime.fromtimestamp(now, dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(issued - dt.timedelta(minutes=5))
        .not_valid_after(issued + dt.timedelta(days=3650))
        .sign(private, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update(
        kid=kid,
        use="sig",
        alg="RS256",
        x5t=_b64url(hashlib.sha1(der).digest()),  # noqa: S324 - x5t is defined as SHA-1 (RFC 7517 §4.8)
        x5c=[base64.b64encode(der).decode()],
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(kek),
    ).decode()
    return SigningKey(
        kid=kid,
        private_key=pem,
        public_jwk=jwk,
        cert=cert.public_bytes(serialization.Encoding.PEM).decode(),
        state=state,
        created_at=now,
        current_since=now if state == CURRENT else None,
    )


def view(row: SigningKey) -> KeyView:
    return KeyView(row.kid, row.state, row.created_at, row.current_since)


def _retrieve(task: asyncio.Future[None]) -> None:
    """A failed background reload is not fatal: the keys expire and the next request reloads them."""
    if not task.cancelled():
        task.exception()


class KeyStore:
    """Process-local view of the signing keys, refreshed from the database."""

    def __init__(self, db: Database, kek: bytes, clock: Clock, tenant: str, ttl: float = 5.0) -> None:
        self.db, self.kek, self.clock, self.tenant, self.ttl = db, kek, clock, tenant, ttl
        self._keys: dict[str, LoadedKey] = {}
        self._current: LoadedKey | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._reloading: asyncio.Future[None] | None = None
        self._private_cache: dict[str, rsa.RSAPrivateKey] = {}
        self._generation: Callable[[], int] | None = None
        self._seen_generation = 0
        self.jwks_json: bytes = b'{"keys":[]}'
        # tokens.jwt.verify remembers verified tokens here; emptied whenever the key set changes
        self.verified: dict[Any, tuple[float, str, str | None, dict[str, Any]]] = {}

    def watch(self, generation: Callable[[], int]) -> None:
        """Reload before the next use whenever ``generation()`` changes (``Runtime``: the catalog's generation,
        which moves when this or, through the shared change counter, another process wrote configuration)."""
        self._generation = generation
        self._seen_generation = generation()

    # writes: each one transaction under the keys' lock (storage.signing_keys), then a reload of this process's view

    async def _new_key(self) -> SigningKey:
        """RSA key generation takes 50-200 ms of CPU: in a thread, not blocking this worker's other requests."""
        return await asyncio.to_thread(new_key_row, self.kek, self.clock.now(), self.tenant)

    def _apply(self, s: OrmUnit, rows: list[SigningKey], change: Change, spare: list[SigningKey]) -> list[SigningKey]:
        """Write ``change`` (new keys taken from ``spare``, generated beforehand, outside the transaction)."""
        now = self.clock.now()
        by_kid = {r.kid: r for r in rows}
        for kid, state in change.states.items():
            row = by_kid[kid]
            row.state = state
            if state == CURRENT:
                row.current_since = now
            elif state == PREVIOUS:
                row.current_until = now
            elif state == REVOKED:
                row.revoked_at = now
        created = []
        for state in change.create:
            row = spare.pop() if spare else new_key_row(self.kek, now, self.tenant)
            row.state, row.created_at = state, now
            row.current_since = now if state == CURRENT else None
            s.add(row)
            created.append(row)
        return created

    async def ensure_key(self) -> None:
        """Create the current and the next key if the tenant lacks them (bootstrap; idempotent)."""
        missing = key_states.ensure([view(r) for r in await signing_keys.every_key(self.db)])
        if missing:
            spare = [await self._new_key() for _ in missing.create]
            async with self.db.transaction() as s:
                rows = await signing_keys.locked_unrevoked_in(s)
                self._apply(s, rows, key_states.ensure([view(r) for r in rows]), spare)
        await self.reload()

    async def rotate(self) -> SigningKey:
        """The next key, already published, signs from now on; the current one becomes previous and stays in
        the JWKS until revoked; a new next key is published. Returns the key that now signs."""
        spare = [await self._new_key()]
        async with self.db.transaction() as s:
            rows = await signing_keys.locked_unrevoked_in(s)
            created = self._apply(s, rows, key_states.rotate([view(r) for r in rows]), spare)
            signing = key_states.signer([view(r) for r in rows + created])
            assert signing is not None
            current = next(r for r in rows + created if r.kid == signing.kid)
        await self.reload()
        return current

    async def revoke(self, kid: str) -> SigningKey | None:
        """Revoke a previous key (None if there is no such key); ``key_states.KeyStateError`` for the current
        or next key, or one already revoked."""
        async with self.db.transaction() as s:
            row = await signing_keys.locked_get_in(s, kid)
            if row is None:
                return None
            self._apply(s, [row], key_states.revoke(view(row)), [])
        await self.reload()
        return row

    # reads

    async def reload(self) -> None:
        if self._generation is not None:
            self._seen_generation = self._generation()  # taken first: a change during the read reloads again
        rows = await signing_keys.published(self.db)
        keys: dict[str, LoadedKey] = {}
        signing = key_states.signer([view(r) for r in rows])
        for row in rows:
            private = None
            if signing is not None and row.kid == signing.kid:
                private = self._private_cache.get(row.kid)
                if private is None:
                    loaded = serialization.load_pem_private_key(row.private_key.encode(), password=self.kek)
                    assert isinstance(loaded, rsa.RSAPrivateKey)
                    private = self._private_cache[row.kid] = loaded
            public = RSAAlgorithm.from_jwk(row.public_jwk)
            keys[row.kid] = LoadedKey(row.kid, row.state, private, public, row.public_jwk)
        if {k: v.state for k, v in keys.items()} != {k: v.state for k, v in self._keys.items()}:
            self.verified.clear()
        current = keys[signing.kid] if signing is not None else None
        self._keys, self._current, self._loaded_at = keys, current, self.clock.now()
        ordered = key_states.published([view(r) for r in rows])
        self.jwks_json = orjson.dumps({"keys": [keys[k.kid].jwk for k in ordered]})

    async def _fresh(self) -> None:
        """Keys are never used older than ``ttl``, nor after the watched generation moved; past half of ``ttl``
        they are reloaded in the background, so requests under load do not queue behind the reload (p99,
        docs/performance.md)."""
        if self._generation is not None and self._generation() != self._seen_generation:
            async with self._lock:
                if self._generation() != self._seen_generation:
                    await self.reload()
            return
        age = self.clock.now() - self._loaded_at
        if age <= self.ttl / 2:
            return
        if age <= self.ttl:
            if self._reloading is None or self._reloading.done():
                self._reloading = asyncio.ensure_future(self.reload())
                self._reloading.add_done_callback(_retrieve)
            return
        async with self._lock:
            if self.clock.now() - self._loaded_at > self.ttl:
                await self.reload()

    async def signing_key(self) -> LoadedKey:
        await self._fresh()
        if self._current is None:
            await self.reload()
        assert self._current is not None and self._current.private_key is not None, "no current signing key"
        return self._current

    async def public_key(self, kid: str) -> Any | None:
        await self._fresh()
        key = self._keys.get(kid)
        if key is None and self.clock.now() - self._loaded_at > 0.5:
            await self.reload()  # a key rotated in by another process
            key = self._keys.get(kid)
        return key.public_key if key else None

    async def jwks(self) -> bytes:
        await self._fresh()
        return self.jwks_json


class SharedKeyStore(KeyStore):
    """The key store, announcing its rotations and revocations to the other processes (``storage/notify.py``)."""

    notifier: Notifier | None = None

    async def rotate(self) -> SigningKey:
        row = await super().rotate()
        if self.notifier is not None:
            self.notifier.publish(KEYS)
        return row

    async def revoke(self, kid: str) -> SigningKey | None:
        row = await super().revoke(kid)
        if self.notifier is not None:
            self.notifier.publish(KEYS)
        return row
