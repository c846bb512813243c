"""``consentry serve`` migrates and bootstraps in a child process: the supervisor stays small, and a database it
cannot migrate still stops it at once with the one-line reason and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_serve_stops_with_the_reason_when_the_database_cannot_be_migrated(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CONSENTRY_DATA_DIR": str(tmp_path),
        "CONSENTRY_PORT": "1",
        "CONSENTRY_DATABASE_URL": "postgresql+asyncpg://nobody:secret@127.0.0.1:9/none",
    }
    done = subprocess.run(
        [sys.executable, "-m", "consentry", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "cannot migrate the database at postgresql+asyncpg://nobody:***@127.0.0.1:9/none" in done.stderr
    assert "secret" not in done.stderr and "Traceback" not in done.stderr
    assert "listening" not in done.stderr  # nothing was served
