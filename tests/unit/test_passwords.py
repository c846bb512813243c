"""argon2id checks off the event loop (``login/passwords.py``): same answers, bounded concurrency."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from consentry.login import passwords

STORED = passwords.hash_password("correct horse battery")


async def test_answers_are_those_of_the_blocking_check() -> None:
    assert await passwords.verify_password_off_loop(STORED, "correct horse battery") is True
    assert await passwords.verify_password_off_loop(STORED, "wrong horse battery") is False
    assert await passwords.verify_password_off_loop(None, "correct horse battery") is False  # dummy hash, same cost
    assert await passwords.verify_password_off_loop("not-a-hash", "x") is False


async def test_at_most_hash_threads_hashes_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = threading.Lock()
    running, peak = 0, 0

    def slow(_stored: str | None, _password: str) -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return True

    monkeypatch.setattr(passwords, "verify_password", slow)
    results = await asyncio.gather(
        *(passwords.verify_password_off_loop("h", "p") for _ in range(4 * passwords.HASH_THREADS))
    )
    assert all(results)
    assert peak == passwords.HASH_THREADS  # bounded (19 MiB each), yet every core is used


async def test_the_event_loop_keeps_running_during_a_hash() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await passwords.verify_password_off_loop(STORED, "correct horse battery")
    task.cancel()
    assert ticks > 1
