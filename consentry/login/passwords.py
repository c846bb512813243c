"""argon2id password hashing (OWASP parameters: t=2, m=19 MiB, p=1), by libsodium.

libsodium (PyNaCl) chooses its Argon2 code for the CPU at run time (AVX-512F, AVX2 or SSSE3); a portable
SSE2 build such as argon2-cffi's wheels spends twice the user CPU per hash (performance.md). The hashes are
standard PHC strings (``$argon2id$v=19$m=19456,t=2,p=1$salt$hash``): any argon2 library verifies them, and
argon2i/argon2id hashes made elsewhere (imports) verify here with their own parameters, and so do the bcrypt
hashes of users imported from Auth0.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from nacl import pwhash
from nacl.exceptions import CryptoError

TIME_COST = 2
MEMORY_KIB = 19456


def _utf8(password: str) -> bytes:
    # A JSON body can carry a lone surrogate; it must not turn a password check into a 500.
    return password.encode("utf-8", "surrogatepass")


def hash_password(password: str) -> str:
    return pwhash.argon2id.str(_utf8(password), opslimit=TIME_COST, memlimit=MEMORY_KIB * 1024).decode("ascii")


# Verified against when the user does not exist, so a miss costs the same time as a wrong password.
_DUMMY = hash_password("consentry-dummy-password").encode("ascii")

# Hashes run off the event loop (libsodium releases the GIL), at most one per core at a time: each maps
# 19 MiB while it runs, so an unbounded pool would let a burst of logins grow the worker's RSS without limit.
HASH_THREADS = max(1, min(os.cpu_count() or 1, 4))
_pool = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="argon2")

MIN_LENGTH = 8
MAX_LENGTH = 1024


BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")  # imported from Auth0 (``services.user_import_format``)


def _verify_bcrypt(stored_hash: str, password: str) -> bool:
    import bcrypt  # only imported users have bcrypt hashes

    try:  # bcrypt reads at most 72 bytes of the password, as every bcrypt implementation did
        return bcrypt.checkpw(_utf8(password)[:72], stored_hash.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False


def verify_password(stored_hash: str | None, password: str) -> bool:
    if stored_hash is not None and stored_hash.startswith(BCRYPT_PREFIXES):
        return _verify_bcrypt(stored_hash, password)
    try:
        stored = stored_hash.encode("ascii") if stored_hash is not None else _DUMMY
        return pwhash.verify(stored, _utf8(password)) and stored_hash is not None
    except (CryptoError, UnicodeEncodeError):  # a mismatch, or a stored value that is no argon2 hash
        return False


async def verify_password_off_loop(stored_hash: str | None, password: str) -> bool:
    """``verify_password`` in the bounded hashing pool, so the worker keeps serving other requests meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(_pool, verify_password, stored_hash, password)


async def hash_password_off_loop(password: str) -> str:
    """``hash_password`` in the bounded hashing pool (see ``verify_password_off_loop``)."""
    return await asyncio.get_running_loop().run_in_executor(_pool, hash_password, password)


def password_problem(password: str) -> str | None:
    if len(password) < MIN_LENGTH:
        return f"Password is too weak: use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return "Password is too long."
    return None
