"""What the background tasks (webhook deliveries, jobs, DCR pruning) log when a round fails.

A database that is away (restarting, failing over) is an expected, retried condition: one warning line, no
traceback (the logs of a restart stay readable and free of stack traces). Anything else is a bug: its traceback.
"""

from __future__ import annotations

import logging

from consentry.storage.unavailable import looks_unavailable


def log_failure(log: logging.Logger, message: str, exc: BaseException) -> None:
    if looks_unavailable(exc):
        log.warning("%s: the database is unavailable (%s)", message, type(exc).__name__)
    else:
        log.error("%s", message, exc_info=exc)
