"""``live_server(tmp_path)``: the real ``consentry serve`` in a subprocess, for tests that need a real HTTP server.

The server listens on 127.0.0.1 and a free port, with one worker, its issuer ``http://127.0.0.1:PORT/``,
SQLite under ``tmp_path/data`` (or ``database_url``) and a fixed key-encryption key, so several servers
started on the same ``tmp_path``/database share keys and data. It is stopped by its PID when the block ends.
``process.cli(...)`` runs ``consentry`` commands with the same settings.

With ``tls=True`` it serves https itself (``CONSENTRY_TLS_CERT_FILE``): the certificate is the one
``consentry tls dev-cert`` makes, for 127.0.0.1 under ``tmp_path/tls``, the issuer is ``https://127.0.0.1:PORT/``
and ``process.ca_file`` is the CA a client must trust.

    with live_server(tmp_path) as (base_url, process):
        creds = process.cli("admin", "create-client", "--name", "ops")
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from consentry.tls import DevCert, certificate_hosts, issue_dev_cert

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
TEST_KEK = "live-server-test-key-encryption-key"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def consentry_command() -> list[str]:
    script = ROOT / ".venv" / "bin" / "consentry"
    return [str(script)] if script.exists() else [sys.executable, "-m", "consentry"]


class LiveProcess(subprocess.Popen[bytes]):
    """The server process, with the environment it runs with and a way to run the CLI against it."""

    env: dict[str, str]
    log_path: Path
    ca_file: Path | None = None  # the CA of its certificate when it serves https

    def verify(self) -> ssl.SSLContext | bool:
        """What an httpx client needs to verify this server (``True``: the system CAs, for plain http)."""
        return ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else True

    @property
    def issuer(self) -> str:
        """The issuer the server signs with (its own URL unless ``CONSENTRY_ISSUER`` was overridden)."""
        return self.env["CONSENTRY_ISSUER"]

    def cli(self, *args: str, timeout: float = 120) -> Any:
        """Run ``consentry ARGS`` with the server's settings; returns its stdout parsed as JSON."""
        done = subprocess.run(
            [*consentry_command(), *args],
            env=self.env,
            cwd=self.env["CONSENTRY_DATA_DIR"],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"consentry {' '.join(args)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
        return json.loads(done.stdout)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def tls_files(tmp_path: Path) -> DevCert:
    """The dev certificate for 127.0.0.1 under ``tmp_path/tls`` (what ``consentry tls dev-cert`` writes)."""
    return issue_dev_cert(tmp_path / "tls", certificate_hosts("https://127.0.0.1/"))


def server_env(
    tmp_path: Path,
    port: int,
    env_overrides: dict[str, str] | None,
    database_url: str | None,
    tls: DevCert | None = None,
) -> dict[str, str]:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CONSENTRY_")}
    env.update(
        {
            "CONSENTRY_HOST": "127.0.0.1",
            "CONSENTRY_PORT": str(port),
            "CONSENTRY_ISSUER": f"{'https' if tls else 'http'}://127.0.0.1:{port}/",
            "CONSENTRY_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{data / 'consentry.db'}",
            "CONSENTRY_DATA_DIR": str(data),
            "CONSENTRY_WORKERS": "1",
            "CONSENTRY_KEY_ENCRYPTION_KEY": TEST_KEK,
            "CONSENTRY_LOG_LEVEL": "warning",
        }
    )
    if tls is not None:
        env.update({"CONSENTRY_TLS_CERT_FILE": str(tls.cert_file), "CONSENTRY_TLS_KEY_FILE": str(tls.key_file)})
    env.update(env_overrides or {})
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def _wait_ready(base_url: str, process: LiveProcess) -> None:
    """Poll discovery on the server's own address until it answers with the configured issuer."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"consentry serve exited with {process.returncode}:\n{process.log_tail()}")
        try:
            r = httpx.get(f"{base_url}.well-known/openid-configuration", timeout=2, verify=process.verify())
            if r.status_code == 200 and r.json().get("issuer") == process.issuer:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"consentry serve did not answer within {START_TIMEOUT:.0f}s:\n{process.log_tail()}")


@contextmanager
def live_server(
    tmp_path: Path,
    env_overrides: dict[str, str] | None = None,
    database_url: str | None = None,
    *,
    tls: bool = False,
) -> Iterator[tuple[str, LiveProcess]]:
    """Start ``consentry serve``; yields ``(base_url, process)`` once discovery answers; stops it by PID.

    ``base_url`` is where this process listens (``http://127.0.0.1:PORT/``, https with ``tls``); to run several
    processes as one tenant, give them the same ``CONSENTRY_ISSUER`` in ``env_overrides`` and ``database_url``."""
    port = int((env_overrides or {}).get("CONSENTRY_PORT") or free_port())
    certs = tls_files(tmp_path) if tls else None
    env = server_env(tmp_path, port, env_overrides, database_url, certs)
    base_url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/"
    data = Path(env["CONSENTRY_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    log_path = tmp_path / f"server-{port}.log"
    with open(log_path, "wb") as log:
        process = LiveProcess(
            [*consentry_command(), "serve"],
            env=env,
            cwd=data,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    process.env, process.log_path = env, log_path
    process.ca_file = certs.ca_file if certs else None
    try:
        _wait_ready(base_url, process)
        yield base_url, process
    finally:
        _stop(process)


async def fresh_postgres_database(server_url: str) -> str:
    """A new, empty database on the PostgreSQL server of ``server_url`` (so a live server gets its own)."""
    name = f"live_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)
