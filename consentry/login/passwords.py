"""argon2id password hashing (OWASP parameters: t=2, m=19 MiB, p=1)."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when the user does not exist, so a miss costs the same time as a wrong password.
_DUMMY = _hasher.hash("consentry-dummy-password")

# Hashes run off the event loop (argon2-cffi releases the GIL), at most one per core at a time: each holds
# 19 MiB while it runs, so an unbounded pool would let a burst of logins grow the worker's RSS without limit.
HASH_THREADS = max(1, min(os.cpu_count() or 1, 4))
_pool = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="argon2")

MIN_LENGTH = 8
MAX_LENGTH = 1024


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password_off_loop(stored_hash: str | None, password: str) -> bool:
    """``verify_password`` in the bounded hashing pool, so the worker keeps serving other requests meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(_pool, verify_password, stored_hash, password)


def password_problem(password: str) -> str | None:
    if len(password) < MIN_LENGTH:
        return f"Password is too weak: use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return "Password is too long."
    return None
