"""``consentry bench --peers``: Consentry side by side with node-oidc-provider and django-oauth-toolkit.

The kit lives in ``bench/peers/`` of the checkout (its README lists every setting). It clones this checkout's
commit, installs the peers (npm, PyPI, Debian's wrk and Redis), seeds fresh data, then alternates peer and
Consentry runs on SQLite and PostgreSQL and prints the ratio table; results land in ``bench/results/peers/``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "bench" / "peers"


def run_peers(*, duration: float, pairs: int, blocks: str | None, signing_alg: str = "RS256") -> int:
    """Run the whole comparison; the exit code is the kit's (non-zero when a server or a run failed)."""
    script = KIT / "run-all.sh"
    if not script.exists():
        raise RuntimeError(f"the peer kit is not in this checkout ({script} is missing)")
    out = ROOT / "bench" / "results" / "peers"
    argv = [str(script), "--duration", f"{duration:g}", "--pairs", str(pairs), "--out", str(out)]
    if blocks:
        argv += ["--blocks", blocks]
    env = {**os.environ, "PB_CONSENTRY_SRC": str(ROOT), "PB_CONSENTRY_SIGNING_ALG": signing_alg}
    return subprocess.call(argv, env=env)
