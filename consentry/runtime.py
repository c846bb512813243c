"""The objects one server process shares between requests (no request state lives here)."""

from __future__ import annotations

from dataclasses import dataclass

from consentry.catalog import Catalog
from consentry.clock import Clock
from consentry.settings import Settings
from consentry.storage.db import Database
from consentry.tokens.keys import KeyStore, load_kek


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    keys: KeyStore
    catalog: Catalog

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        clock = clock or Clock()
        db = Database(settings.database_url)
        kek = load_kek(settings.key_encryption_key, settings.data_dir)
        keys = KeyStore(db, kek, clock, settings.tenant_name, ttl=max(settings.cache_ttl, 1.0))
        return cls(settings, db, clock, keys, Catalog(db, clock, settings.cache_ttl))
