"""The process that stays up beside the workers: uvicorn's supervisor, started bare.

``consentry serve`` migrates, bootstraps and checks the TLS pair, then replaces itself with this module
(``os.execv``, same PID), so the supervisor holds the interpreter and uvicorn only: no typer, no pydantic, no
settings, no application. The workers are forked from it and import the application after the fork. Forking
instead of uvicorn's spawning also spares the resource tracker that every spawned start launches, a Python process
of its own (docs/performance.md, *Memory*). The supervisor has one thread when it forks.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys

import uvicorn
import uvicorn._subprocess

# The signals uvicorn's supervisor queues for itself (uvicorn.supervisors.multiprocess.SIGNALS): a forked worker
# would inherit those handlers and queue the signals into a list nobody reads.
_SUPERVISOR_SIGNALS = ("HUP", "QUIT", "TTIN", "TTOU", "USR1", "USR2", "WINCH")


def _default_signals_in_worker() -> None:
    for name in _SUPERVISOR_SIGNALS:
        signal.signal(getattr(signal, f"SIG{name}"), signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str]) -> None:
    """Run uvicorn with the options ``consentry serve`` passed as one JSON argument."""
    options = json.loads(argv[1])
    uvicorn._subprocess.spawn = multiprocessing.get_context("fork")  # type: ignore[assignment]
    os.register_at_fork(after_in_child=_default_signals_in_worker)
    uvicorn.run("consentry.app:app_factory", factory=True, **options)


if __name__ == "__main__":
    main(sys.argv)
