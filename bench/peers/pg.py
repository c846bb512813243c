"""A throwaway PostgreSQL for Consentry's PostgreSQL runs (Debian's packages, the project bench's settings).

Run with the Consentry clone's venv python: ``pg.py start DATA`` writes DATA/pg.json (the URL and where the
cluster lives), ``pg.py stop DATA`` stops it and removes its files.
"""

import json
import os
import sys
from pathlib import Path

from consentry.bench.server import Postgres


def main(action: str, data: Path) -> None:
    state = data / "pg.json"
    if action == "start":
        pg = Postgres()
        url = pg.start()
        state.write_text(json.dumps({"url": url, "dir": str(pg.dir), "port": pg.port}))
        print(url)
        return
    if state.exists():
        saved = json.loads(state.read_text())
        pg = Postgres.__new__(Postgres)  # the cluster start made, not a new one
        fresh = Postgres()
        fresh.dir.rmdir()
        pg.bin, pg.dir, pg.port = fresh.bin, Path(saved["dir"]), saved["port"]
        pg.as_root = os.geteuid() == 0
        pg.stop()
        state.unlink()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
