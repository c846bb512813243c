"""The background task that sends queued webhook deliveries, in every server process (``webhooks_enabled``).

Each round: claim the due deliveries (a lease, ``storage.webhooks.claim``: no two processes or nodes send the
same attempt), POST each one signed (``webhook_signing``) with a short timeout, and record the result; a
failure is retried after an exponential backoff (``webhook_rules.after_attempt``) until ``webhooks_max_attempts``.
Every ``webhooks_expiry_sweep_interval`` it also announces the user grants that have expired. A process that
stops gives back the attempts it had claimed, so they are sent at once by the next process; one that dies keeps
them until the lease runs out (``lease_seconds``). Delivery is at least once: a receiver deduplicates by
``webhook-id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from consentry.runtime import Runtime
from consentry.services import webhook_rules as rules
from consentry.services import webhook_signing as signing
from consentry.services import webhooks
from consentry.services.background import log_failure
from consentry.storage import webhooks as store

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("consentry.webhooks")
BATCH = 20
MAX_ERROR = 500


def lease_seconds(rt: Runtime) -> float:
    """How long a claimed attempt stays this process's: the request's timeout with a wide margin."""
    return rt.settings.webhooks_timeout * 2 + 30.0


def policy(rt: Runtime) -> rules.RetryPolicy:
    s = rt.settings
    return rules.RetryPolicy(base=s.webhooks_retry_base, cap=s.webhooks_retry_max, max_attempts=s.webhooks_max_attempts)


@dataclass
class Dispatcher:
    """``client``: made at the first delivery (httpx is imported then, not at start: it costs ≈ 7 MB a worker)."""

    rt: Runtime
    client: httpx.AsyncClient | None = None
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    last_sweep: float = float("-inf")

    async def run_once(self) -> int:
        """One round (due deliveries, and the expiry sweep when it is time); returns how many were attempted."""
        rt = self.rt
        interval = rt.settings.webhooks_expiry_sweep_interval
        if interval > 0 and rt.clock.now() - self.last_sweep >= interval:
            self.last_sweep = rt.clock.now()
            await webhooks.sweep_expired(rt)
        now = rt.clock.now()
        if not await store.any_due(rt.db, now):
            return 0
        claimed = await store.claim(rt.db, now=now, token=self.token, lease_until=now + lease_seconds(rt), limit=BATCH)
        if self.client is None:
            self.client = new_client(rt)
        await asyncio.gather(*(self._attempt(d) for d in claimed))
        return len(claimed)

    async def _attempt(self, delivery: store.Claimed) -> None:
        import httpx

        rt = self.rt
        assert self.client is not None
        body = delivery.payload.encode()
        status: int | None = None
        error: str | None = None
        try:
            secret = signing.unseal(rt.keys.kek, delivery.secret_encrypted)
            headers = signing.headers(secret, delivery.id, int(rt.clock.now()), body)
            headers["user-agent"] = "Consentry-Webhooks/1"
            response = await self.client.post(delivery.url, content=body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR] or type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - one bad delivery must not stop the others
            error = type(exc).__name__
        now = rt.clock.now()
        outcome = rules.after_attempt(succeeded=error is None, attempts=delivery.attempts, now=now, policy=policy(rt))
        values = {
            "status": outcome.status,
            "next_attempt_at": outcome.next_attempt_at,
            "last_status": status,
            "last_error": error,
            "delivered_at": now if outcome.status == rules.DELIVERED else None,
        }
        if not await store.finish(rt.db, delivery.id, self.token, values):
            log.warning("webhook delivery %s: lease lost before its result was recorded", delivery.id)
        elif error is not None:
            log.info("webhook delivery %s attempt %s failed: %s", delivery.id, delivery.attempts, error)


async def _loop(dispatcher: Dispatcher) -> None:
    rt = dispatcher.rt
    try:
        while True:
            try:
                await dispatcher.run_once()
            except Exception as exc:  # noqa: BLE001 - keep the task alive; the next round retries
                log_failure(log, "webhook delivery round failed; retrying", exc)
            await asyncio.sleep(rt.settings.webhooks_poll_interval)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(store.release(rt.db, dispatcher.token))


def new_client(rt: Runtime) -> httpx.AsyncClient:
    import httpx

    return httpx.AsyncClient(timeout=rt.settings.webhooks_timeout, follow_redirects=False, trust_env=False)


@dataclass
class Running:
    task: asyncio.Task[None]
    dispatcher: Dispatcher


def start(rt: Runtime) -> Running | None:
    """Start the delivery task (app lifespan); None when ``webhooks_enabled`` is off."""
    if not rt.settings.webhooks_enabled:
        return None
    dispatcher = Dispatcher(rt)
    return Running(asyncio.create_task(_loop(dispatcher), name="consentry-webhooks"), dispatcher)


async def stop(running: Running | None) -> None:
    if running is None:
        return
    running.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running.task
    if running.dispatcher.client is not None:
        await running.dispatcher.client.aclose()
