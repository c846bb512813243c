#!/usr/bin/env python3
"""Fresh data for every server under $PB_DATA (default $TMPDIR/pb-data), then $PB_DATA/fixture.json.

Consentry: the way a user sets it up (README.md): `consentry db upgrade`, `consentry admin create-client`
(the M2M client `bench` and the resource-server client `bench-rs`), `consentry apis create`, then a client
grant through the Management API of a running `consentry serve`; the refresh tokens through the project's
bench seeding (consentry_seed.py). node-oidc-provider: static clients in config.mjs, refresh tokens and their
grants through its models into Redis (seed.mjs). DOT: migrate, then clients/tokens through its models (seed.py).
Redis must be running (run-all.sh starts it).
"""

from __future__ import annotations

import json
import os
import tempfile
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("PB_DATA", os.path.join(tempfile.gettempdir(), "pb-data")))
CONSENTRY = Path(os.environ.get("PB_CONSENTRY", os.path.join(tempfile.gettempdir(), "pb-clone")))
N_CONSENTRY = int(os.environ.get("PB_REFRESH_CONSENTRY", "90000"))
N_OP = int(os.environ.get("PB_REFRESH_OP", "150000"))  # ≈ 1,600/s × 10 s × 9 runs on a fast day
N_DOT = int(os.environ.get("PB_REFRESH_DOT", "20000"))
N_CODES = int(os.environ.get("PB_CODES_OP", "100000"))  # node-oidc-provider's codes (Consentry: as many as tokens)


def consentry_env(variant: str) -> dict[str, str]:
    """The settings of ``consentry`` (SQLite, port 9101) or ``consentry-pg`` (the throwaway PostgreSQL, 9104)."""
    pg = variant == "consentry-pg"
    port = "9104" if pg else "9101"
    url = json.loads((DATA / "pg.json").read_text())["url"] if pg else f"sqlite+aiosqlite:///{DATA}/c.db"
    return {"CONSENTRY_HOST": "127.0.0.1", "CONSENTRY_PORT": port, "CONSENTRY_ISSUER": f"http://127.0.0.1:{port}/",
            "CONSENTRY_WORKERS": "2", "CONSENTRY_DATABASE_URL": url, "CONSENTRY_DATA_DIR": str(DATA / variant),
            "CONSENTRY_LOG_LEVEL": "warning"}


API = "https://api.peer-bench.example/"


def log(m: str) -> None:
    print(f"[prepare {time.strftime('%H:%M:%S')}] {m}", file=sys.stderr, flush=True)


def sh(argv: list[str], env: dict | None = None, cwd: Path | None = None) -> str:
    p = subprocess.run(argv, env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"{argv}: {p.returncode}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p.stdout


def post(url: str, body: bytes, headers: dict) -> dict:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def consentry(variant: str) -> dict:
    env = consentry_env(variant)
    base = env["CONSENTRY_ISSUER"].rstrip("/")
    cli = str(CONSENTRY / ".venv/bin/consentry")
    (DATA / variant).mkdir(parents=True)
    sh([cli, "db", "upgrade"], env, CONSENTRY)
    bench = json.loads(sh([cli, "admin", "create-client", "--name", "bench"], env, CONSENTRY))
    rs = json.loads(sh([cli, "admin", "create-client", "--name", "bench-rs"], env, CONSENTRY))
    sh([cli, "apis", "create", "--identifier", API, "--name", "Peer bench API", "--scope", "read:data",
        "--scope", "write:data", "--signing-alg", os.environ.get("PB_CONSENTRY_SIGNING_ALG", "RS256")],
       env, CONSENTRY)
    log(f"{variant}: seeding refresh tokens and authorization codes")
    sh([str(CONSENTRY / ".venv/bin/python"), str(HERE / "consentry_seed.py"), str(N_CONSENTRY), str(DATA / variant)],
       env, CONSENTRY)
    app = json.loads((DATA / variant / "consentry-app.json").read_text())
    # The client grant through the Management API of a running server.
    srv = subprocess.Popen([cli, "serve"], env={**os.environ, **env}, cwd=CONSENTRY,
                           stdout=(DATA / f"{variant}-prepare.log").open("w"), stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/.well-known/openid-configuration", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        tok = post(base + "/oauth/token", json.dumps({
            "grant_type": "client_credentials", "client_id": bench["client_id"],
            "client_secret": bench["client_secret"], "audience": base + "/api/v2/"}).encode(),
            {"content-type": "application/json"})["access_token"]
        grant = post(base + "/api/v2/client-grants", json.dumps({
            "client_id": bench["client_id"], "audience": API, "scope": ["read:data", "write:data"]}).encode(),
            {"content-type": "application/json", "authorization": f"Bearer {tok}"})
        log(f"{variant}: client grant {grant.get('id')}")
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=30)
    return {"m2m": [bench["client_id"], bench["client_secret"]], "rs": [rs["client_id"], rs["client_secret"]],
            "app": app["app"], "api": API, "verifier": app["verifier"], "redirect_uri": app["redirect_uri"]}


def oidc_provider() -> dict:
    op = HERE / "oidc-provider"
    sh(["node", "keys.mjs"], cwd=op)
    sh(["redis-cli", "-p", "6390", "flushall"])
    log("oidc-provider: seeding refresh tokens")
    redis = {"REDIS_URL": "redis://127.0.0.1:6390"}
    (DATA / "op-refresh.txt").write_text(sh(["node", "seed.mjs", str(N_OP), "refresh"], redis, op))
    log("oidc-provider: seeding authorization codes")
    (DATA / "op-codes.txt").write_text(sh(["node", "seed.mjs", str(N_CODES), "code"], redis, op))
    return json.loads((op / "secrets.json").read_text())


def dot() -> dict:
    d = HERE / "dot"
    py = str(d / ".venv/bin/python")
    sh(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(DATA / "dot-rsa.pem")])
    (DATA / "dot-secret-key").write_text(os.urandom(32).hex())
    env = {"PB_DATA": str(DATA)}
    sh([py, "manage.py", "migrate", "-v0"], env, d)
    log("dot: seeding")
    sh([py, "seed.py", str(N_DOT)], env, d)
    return json.loads((DATA / "dot-fixture.json").read_text())


def main() -> None:
    for p in ("c.db", "c.db-wal", "c.db-shm", "dot.db", "dot.db-wal", "dot.db-shm"):
        (DATA / p).unlink(missing_ok=True)
    for variant in ("consentry", "consentry-pg"):
        shutil.rmtree(DATA / variant, ignore_errors=True)
    shutil.rmtree(DATA / "lua", ignore_errors=True)
    fx = {"consentry": consentry("consentry"), "consentry-pg": consentry("consentry-pg"),
          "oidc-provider": oidc_provider(), "dot": dot()}
    (DATA / "fixture.json").write_text(json.dumps(fx, indent=1))
    log("fixture written")


if __name__ == "__main__":
    main()
