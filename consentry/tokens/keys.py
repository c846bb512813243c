"""Signing keys: generation, encryption at rest, JWKS, rotation and revocation.

Keys come in rings, one per algorithm. The RS256 ring always exists: it signs ID tokens, consent receipts and
the access tokens of every API that keeps the default ``signing_alg``. The ES256 ring (P-256) is made the first
time a token of an API that opted in to ``signing_alg: ES256`` is signed, so a tenant that never opts in
publishes RSA keys only (some verifiers, auth0-python's among them, read every JWKS entry as an RSA key).
Each ring has its own states; a rotation rotates every ring.

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
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from consentry.clock import Clock
from consentry.storage import signing_keys
from consentry.storage.db import Database, OrmUnit
from consentry.storage.models import SigningKey
from consentry.storage.notify import KEYS, Notifier
from consentry.tokens import key_states
from consentry.tokens.ids import random_alnum
from consentry.tokens.key_states import CURRENT, PREVIOUS, REVOKED, Change, KeyView

RS256, ES256 = "RS256", "ES256"
ALGORITHMS = (RS256, ES256)  # what Consentry signs with; the JWT header's alg names the key's ring
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

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
    private_key: PrivateKey | None
    public_key: Any
    jwk: dict[str, Any]
    alg: str = RS256


def _new_private_key(alg: str) -> PrivateKey:
    if alg == ES256:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_jwk(private: PrivateKey) -> dict[str, Any]:
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)


def _loaded_public(alg: str, jwk: dict[str, Any]) -> Any:
    return (ECAlgorithm if alg == ES256 else RSAAlgorithm).from_jwk(jwk)


def new_key_row(kek: bytes, now: float, tenant: str, state: str = CURRENT, alg: str = RS256) -> SigningKey:
    private = _new_private_key(alg)
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
    jwk = _public_jwk(private)
    jwk.update(
        kid=kid,
        use="sig",
        alg=alg,
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
        alg=alg,
        created_at=now,
        current_since=now if state == CURRENT else None,
    )


def view(row: SigningKey) -> KeyView:
    return KeyView(row.kid, row.state, row.created_at, row.current_since)


def ring(rows: list[SigningKey], alg: str) -> list[SigningKey]:
    """The keys of one algorithm's ring."""
    return [r for r in rows if r.alg == alg]


def rings(rows: list[SigningKey], *wanted: str) -> list[str]:
    """The rings present in ``rows`` and the ``wanted`` ones, RS256 first (the order of the JWKS)."""
    present = {r.alg for r in rows} | set(wanted) | {RS256}
    return [alg for alg in ALGORITHMS if alg in present]


def _retrieve(task: asyncio.Future[None]) -> None:
    """A failed background reload is not fatal: the keys expire and the next request reloads them."""
    if not task.cancelled():
        task.exception()


class KeyStore:
    """Process-local view of the signing keys, refreshed from the database."""

    def __init__(self, db: Database, kek: bytes, clock: Clock, tenant: str, ttl: float = 5.0) -> None:
        self.db, self.kek, self.clock, self.tenant, self.ttl = db, kek, clock, tenant, ttl
        self._keys: dict[str, LoadedKey] = {}
        self._current: dict[str, LoadedKey] = {}  # the signing key of each ring
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._reloading: asyncio.Future[None] | None = None
        self._private_cache: dict[str, PrivateKey] = {}
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

    async def _new_key(self, alg: str) -> SigningKey:
        """RSA key generation takes 50-200 ms of CPU: in a thread, not blocking this worker's other requests."""
        return await asyncio.to_thread(new_key_row, self.kek, self.clock.now(), self.tenant, CURRENT, alg)

    def _apply(
        self, s: OrmUnit, rows: list[SigningKey], change: Change, spare: list[SigningKey], alg: str = RS256
    ) -> list[SigningKey]:
        """Write ``change`` to the ring ``alg`` (new keys taken from ``spare``, generated beforehand, outside the
        transaction)."""
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
            row = spare.pop() if spare else new_key_row(self.kek, now, self.tenant, CURRENT, alg)
            row.state, row.created_at = state, now
            row.current_since = now if state == CURRENT else None
            s.add(row)
            created.append(row)
        return created

    async def ensure_key(self, *algs: str) -> bool:
        """Create the current and the next key of every ring that lacks them: the RS256 ring, the rings already
        in use and ``algs`` (bootstrap, and the first signature of a new ring; idempotent). True if it wrote."""
        rows = list(await signing_keys.every_key(self.db))
        wanted = rings(rows, *algs)
        missing = {alg: key_states.ensure([view(r) for r in ring(rows, alg)]) for alg in wanted}
        if not any(missing.values()):
            await self.reload()
            return False
        spare = {alg: [await self._new_key(alg) for _ in change.create] for alg, change in missing.items()}
        async with self.db.transaction() as s:
            rows = await signing_keys.locked_unrevoked_in(s)
            for alg in wanted:
                keys = ring(rows, alg)
                self._apply(s, keys, key_states.ensure([view(r) for r in keys]), spare[alg], alg)
        await self.reload()
        return True

    async def rotate(self) -> SigningKey:
        """In every ring, the next key, already published, signs from now on; the current one becomes previous
        and stays in the JWKS until revoked; a new next key is published. Returns the RS256 key that now signs
        (the application signing key of Auth0's Management API)."""
        rows = list(await signing_keys.every_key(self.db))
        spare = {alg: [await self._new_key(alg)] for alg in rings(rows)}
        async with self.db.transaction() as s:
            rows = await signing_keys.locked_unrevoked_in(s)
            created: list[SigningKey] = []
            for alg in rings(rows):
                keys = ring(rows, alg)
                created += self._apply(s, keys, key_states.rotate([view(r) for r in keys]), spare.get(alg, []), alg)
            rsa_ring = ring(rows + created, RS256)
            signing = key_states.signer([view(r) for r in rsa_ring])
            assert signing is not None
            current = next(r for r in rsa_ring if r.kid == signing.kid)
        await self.reload()
        return current

    async def revoke(self, kid: str) -> SigningKey | None:
        """Revoke a previous key (None if there is no such key); ``key_states.KeyStateError`` for the current
        or next key, or one already revoked."""
        async with self.db.transaction() as s:
            row = await signing_keys.locked_get_in(s, kid)
            if row is None:
                return None
            self._apply(s, [row], key_states.revoke(view(row)), [], row.alg)
        await self.reload()
        return row

    # reads

    async def reload(self) -> None:
        if self._generation is not None:
            self._seen_generation = self._generation()  # taken first: a change during the read reloads again
        rows = list(await signing_keys.published(self.db))
        keys: dict[str, LoadedKey] = {}
        current: dict[str, LoadedKey] = {}
        published: list[dict[str, Any]] = []
        for alg in rings(rows):
            members = ring(rows, alg)
            signing = key_states.signer([view(r) for r in members])
            for row in members:
                private = self._private(row) if signing is not None and row.kid == signing.kid else None
                public = _loaded_public(alg, row.public_jwk)
                keys[row.kid] = LoadedKey(row.kid, row.state, private, public, row.public_jwk, alg)
            if signing is not None:
                current[alg] = keys[signing.kid]
            published += [keys[k.kid].jwk for k in key_states.published([view(r) for r in members])]
        if {k: v.state for k, v in keys.items()} != {k: v.state for k, v in self._keys.items()}:
            self.verified.clear()
        self._keys, self._current, self._loaded_at = keys, current, self.clock.now()
        self.jwks_json = orjson.dumps({"keys": published})

    def _private(self, row: SigningKey) -> PrivateKey:
        private = self._private_cache.get(row.kid)
        if private is None:
            loaded = serialization.load_pem_private_key(row.private_key.encode(), password=self.kek)
            assert isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
            private = self._private_cache[row.kid] = loaded
        return private

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

    async def signing_key(self, alg: str = RS256) -> LoadedKey:
        """The key that signs in ring ``alg``. A ring not made yet (ES256 before its first token) is made here:
        callers sign before their write transaction, never inside it."""
        await self._fresh()
        if alg not in self._current:
            await self.reload()
        if alg not in self._current:
            await self.ensure_key(alg)
        current = self._current.get(alg)
        assert current is not None and current.private_key is not None, "no current signing key"
        return current

    async def key(self, kid: str) -> LoadedKey | None:
        """A published key, by ``kid`` (None when unknown or revoked)."""
        await self._fresh()
        key = self._keys.get(kid)
        if key is None and self.clock.now() - self._loaded_at > 0.5:
            await self.reload()  # a key rotated in by another process
            key = self._keys.get(kid)
        return key

    async def public_key(self, kid: str) -> Any | None:
        key = await self.key(kid)
        return key.public_key if key else None

    async def jwks(self) -> bytes:
        await self._fresh()
        return self.jwks_json


class SharedKeyStore(KeyStore):
    """The key store, announcing its rotations, revocations and new rings to the other processes
    (``storage/notify.py``)."""

    notifier: Notifier | None = None

    async def ensure_key(self, *algs: str) -> bool:
        wrote = await super().ensure_key(*algs)
        if wrote and self.notifier is not None:
            self.notifier.publish(KEYS)
        return wrote

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
