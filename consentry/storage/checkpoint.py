"""SQLite WAL checkpoints on a thread of their own, not in the event loop's commits.

With inline SQLite (``sqlite_inline.py``) a commit runs on the event loop thread, and SQLite's automatic
checkpoint runs inside the commit that crosses ``wal_autocheckpoint`` pages: it copies the WAL into the
database file and fsyncs it, and the whole worker waits (measured on the refresh rotation: 1.5 ms of
blocked event loop per request on average, more than the request's own CPU). Server connections
therefore turn the automatic checkpoint off and this thread checkpoints every ``interval`` seconds with
its own connection (``sqlite3`` releases the GIL while it works):

- ``PASSIVE`` first: it never waits for readers or writers. Under steady writes it never finishes,
  though (new frames arrive while it copies), and the WAL only starts over once it is fully copied;
- so once the WAL file has grown past ``WAL_RESTART_BYTES``, ``TRUNCATE``: it holds the write lock for
  the copy, writers wait for it on their event loops (``Database._take_write_lock``), and the WAL starts
  over at zero bytes.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

log = logging.getLogger(__name__)

INTERVAL = 0.5  # seconds between checkpoints
WAL_RESTART_BYTES = 16 * 1024 * 1024  # a WAL larger than this is copied back completely and emptied


class WalCheckpointer:
    def __init__(self, path: str, interval: float | None = None) -> None:
        self.path = path
        self.interval = INTERVAL if interval is None else interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Stop the thread after one last checkpoint."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=10)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=2000")
            while not self._stop.wait(self.interval):
                self._checkpoint(conn)
            self._checkpoint(conn)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            if self._wal_bytes() > WAL_RESTART_BYTES:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as exc:  # the next round tries again; requests are never affected
            log.warning("WAL checkpoint failed: %s", exc)

    def _wal_bytes(self) -> int:
        try:
            return os.stat(self.path + "-wal").st_size
        except OSError:
            return 0
