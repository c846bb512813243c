"""The objects one server process shares between requests (no request state lives here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from consentry.clock import Clock
from consentry.config_cache import Catalog
from consentry.services.audit_buffer import AuditBuffer
from consentry.services.usage import UsageMarks
from consentry.settings import Settings
from consentry.storage import config_version
from consentry.storage.db import Database
from consentry.storage.notify import Notifier
from consentry.tokens.keys import KeyStore, SharedKeyStore, load_kek


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    keys: KeyStore
    catalog: Catalog
    # PostgreSQL: tells the other processes about configuration writes and key changes (started by the app)
    notifier: Notifier | None = None
    usage: UsageMarks = field(default_factory=UsageMarks)  # when last_used_at was last written
    mint_log: AuditBuffer = field(init=False)  # token-mint audit events, written in batches

    def __post_init__(self) -> None:
        self.mint_log = AuditBuffer(self.db)

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        clock = clock or Clock()
        db = Database(settings.database_url, pool_size=settings.database_pool_size)
        kek = load_kek(settings.key_encryption_key, settings.data_dir)
        keys = SharedKeyStore(db, kek, clock, settings.tenant_name, ttl=max(settings.cache_ttl, 1.0))
        catalog = Catalog(db, clock, settings.cache_ttl, read_version=config_version.reader(db))
        catalog.on_change.append(keys.reload)  # the counter covers signing_keys too
        db.after_config_commit.append(catalog.invalidate)  # this process sees its own writes at once
        keys.watch(lambda: catalog.generation)  # and any other invalidation seen by the catalog
        # PostgreSQL: the counter's triggers NOTIFY configuration writes themselves (CLI writes included)
        notifier = None if db.is_sqlite else Notifier(settings.database_url, catalog.invalidate_local, keys.reload)
        if notifier is not None:
            keys.notifier = notifier
        return cls(settings, db, clock, keys, catalog, notifier)
