"""RS256 signing keys: generation, encryption at rest, JWKS, rotation and revocation.

States: ``current`` signs; ``previous`` keys stay published until revoked; ``revoked`` keys are gone
from the JWKS. Every process reloads the key set from the database at most every ``ttl`` seconds
(and at once when it meets an unknown ``kid``), so a rotation by one process reaches the others.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select, update

from consentry.clock import Clock
from consentry.storage.db import Database
from consentry.storage.models import SigningKey
from consentry.tokens.ids import random_alnum


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


def new_key_row(kek: bytes, now: float, tenant: str) -> SigningKey:
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
        state="current",
        created_at=now,
        current_since=now,
    )


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
        self.jwks_json: bytes = b'{"keys":[]}'
        # tokens.jwt.verify remembers verified tokens here; emptied whenever the key set changes
        self.verified: dict[Any, tuple[float, str, dict[str, Any]]] = {}

    async def ensure_key(self) -> None:
        """Create the first signing key if the tenant has none (idempotent)."""
        async with self.db.transaction() as s:
            found = await s.scalar(select(SigningKey.kid).where(SigningKey.state == "current").limit(1))
            if found is None:
                s.add(new_key_row(self.kek, self.clock.now(), self.tenant))
        await self.reload()

    async def reload(self) -> None:
        async with self.db.cache_read() as s:
            rows = (await s.scalars(select(SigningKey).where(SigningKey.state != "revoked"))).all()
        keys: dict[str, LoadedKey] = {}
        current: LoadedKey | None = None
        for row in rows:
            private = None
            if row.state == "current":
                private = self._private_cache.get(row.kid)
                if private is None:
                    loaded = serialization.load_pem_private_key(row.private_key.encode(), password=self.kek)
                    assert isinstance(loaded, rsa.RSAPrivateKey)
                    private = self._private_cache[row.kid] = loaded
            public = RSAAlgorithm.from_jwk(row.public_jwk)
            key = LoadedKey(row.kid, row.state, private, public, row.public_jwk)
            keys[row.kid] = key
            if row.state == "current" and (current is None or (row.current_since or 0) > 0):
                current = key
        if {k: v.state for k, v in keys.items()} != {k: v.state for k, v in self._keys.items()}:
            self.verified.clear()
        self._keys, self._current, self._loaded_at = keys, current, self.clock.now()
        ordered = sorted(keys.values(), key=lambda k: k.state != "current")
        self.jwks_json = orjson.dumps({"keys": [k.jwk for k in ordered]})

    async def _fresh(self) -> None:
        """Keys are never used older than ``ttl``; past half of it they are reloaded in the background, so
        requests under load do not queue behind the reload (p99, docs/performance.md)."""
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

    async def rotate(self) -> SigningKey:
        """A new key becomes current; the old current becomes previous and stays in the JWKS."""
        now = self.clock.now()
        row = new_key_row(self.kek, now, self.tenant)
        async with self.db.transaction() as s:
            await s.execute(
                update(SigningKey)
                .where(SigningKey.state == "current")
                .values(state="previous", current_until=now)
            )
            s.add(row)
        await self.reload()
        return row

    async def revoke(self, kid: str) -> SigningKey | None:
        """Revoke a previous key (the current one cannot be revoked: rotate first)."""
        async with self.db.transaction() as s:
            row = await s.get(SigningKey, kid)
            if row is None or row.state != "previous":
                return row
            row.state, row.revoked_at = "revoked", self.clock.now()
        await self.reload()
        return row
