"""Seeds Consentry's refresh tokens with the project's own bench seeding (consentry.bench.seed): a
third-party web app with a client grant on https://api.bench.example/, 50 users who consented, and N
refresh tokens (each single-use, rotation on) and N authorization codes (PKCE S256, valid one hour). Run with
Consentry's venv python; the CONSENTRY_* env of the server.
Usage: consentry_seed.py N OUT_DIR -> OUT_DIR/consentry-refresh.txt, consentry-codes.txt and consentry-app.json
"""

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

from consentry.bench import seed
from consentry.bootstrap import bootstrap
from consentry.login.passwords import hash_password
from consentry.runtime import Runtime
from consentry.settings import Settings


async def main(n: int, out: Path) -> None:
    rt = Runtime.create(Settings())
    try:
        await bootstrap(rt)
        alg = os.environ.get("PB_CONSENTRY_SIGNING_ALG", "RS256")  # consentry bench --peers --signing-alg
        fx = await seed.seed_config(rt, hash_password(seed.PASSWORD), 50, alg)
        await seed.seed_consumables(rt, fx, out, n, "peer")
    finally:
        await rt.db.dispose()
    shutil.move(str(fx.files["refresh"]), out / "consentry-refresh.txt")
    shutil.move(str(fx.files["codes"]), out / "consentry-codes.txt")
    (out / "consentry-app.json").write_text(json.dumps({"app": [fx.app_id, fx.app_secret],
                                                        "seed_m2m": [fx.m2m_id, fx.m2m_secret],
                                                        "verifier": seed.VERIFIER, "redirect_uri": seed.CALLBACK}))


asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2])))
