"""argon2id hashing (``login/passwords.py``): the stored format, old hashes, hostile input, and checks off the
event loop with the same answers and bounded concurrency."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from consentry.login import passwords

STORED = passwords.hash_password("correct horse battery")
# Written by argon2-cffi (Consentry's hasher before libsodium): such hashes are in existing databases.
ARGON2_CFFI_HASH = "$argon2id$v=19$m=19456,t=2,p=1$1q1/0HUJPphproDa1Pqiuw$UzMScw4fk50518ubBA14m/KPxGe6yAhzpdyg043NTrA"


def test_hashes_are_phc_strings_with_the_owasp_parameters() -> None:
    prefix, salt, digest = STORED.rsplit("$", 2)
    assert prefix == "$argon2id$v=19$m=19456,t=2,p=1"
    assert len(salt) == 22 and len(digest) == 43  # 16-byte salt, 32-byte hash, unpadded base64
    assert passwords.hash_password("correct horse battery") != STORED  # a fresh salt every time


@pytest.mark.parametrize(
    ("stored", "password", "expected"),
    [
        (ARGON2_CFFI_HASH, "correct horse battery", True),
        (ARGON2_CFFI_HASH, "correct horse batterY", False),
        (ARGON2_CFFI_HASH[:-2] + "AA", "correct horse battery", False),  # tampered digest
        ("$2b$12$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012", "correct horse battery", False),  # bcrypt
        ("", "x", False),
        ("$argon2id$" + "A" * 200, "x", False),  # longer than any argon2 string
        ("$argon2id$v=19$m=19456,t=2,p=1$ünïcode$x", "x", False),
        (None, "consentry-dummy-password", False),  # the dummy hash never lets anyone in
    ],
)
def test_verify_answers(stored: str | None, password: str, expected: bool) -> None:
    assert passwords.verify_password(stored, password) is expected


def test_a_lone_surrogate_is_a_password_like_any_other() -> None:
    stored = passwords.hash_password("pa\ud800ss-word")
    assert passwords.verify_password(stored, "pa\ud800ss-word") is True
    assert passwords.verify_password(stored, "pass-word") is False


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
