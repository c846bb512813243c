"""Processes the benchmark starts: the server under test, the hello-world baseline, a throwaway PostgreSQL.

Everything listens on 127.0.0.1 on a free port and is stopped by its own PID.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(stat.split("/")[2]))
    return found


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def pss_mb(pid: int) -> float:
    """Proportional set size: private memory plus a fair share of what the workers share (libraries)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (from /proc)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """A server subprocess (uvicorn with N workers) in its own folder, reachable at ``base_url``."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, cwd: Path, log: Path) -> None:
        self.argv, self.env, self.port, self.cwd, self.log = argv, env, port, cwd, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str, timeout: float = 90.0) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.base_url + ready_path, timeout=2) as r:
                    if r.status == 200:
                        time.sleep(0.5)  # let every worker finish its startup
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout:.0f} s; see {self.log}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the workers forked by ``consentry.supervisor`` (the hello world's
        spawned by uvicorn), or the server itself with one worker."""
        if self.proc is None:
            return []
        workers = []
        for pid in _children(self.proc.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline or b"consentry.supervisor" in cmdline:
                workers.append(pid)
        return sorted(workers) or [self.proc.pid]

    def rss(self) -> list[float]:
        return [round(rss_mb(p), 1) for p in self.worker_pids()]

    def pss(self) -> list[float]:
        return [round(pss_mb(p), 1) for p in self.worker_pids()]

    def cpu(self) -> float:
        return sum(cpu_seconds(p) for p in self.worker_pids())

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment without any CONSENTRY_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CONSENTRY_")}
    env.update(extra)
    return env


def consentry_server(*, port: int, workers: int, database_url: str, data_dir: Path, log: Path, kek: str) -> Server:
    env = clean_env(
        {
            "CONSENTRY_HOST": "127.0.0.1",
            "CONSENTRY_PORT": str(port),
            "CONSENTRY_ISSUER": f"http://127.0.0.1:{port}/",
            "CONSENTRY_WORKERS": str(workers),
            "CONSENTRY_DATABASE_URL": database_url,
            "CONSENTRY_DATA_DIR": str(data_dir),
            "CONSENTRY_KEY_ENCRYPTION_KEY": kek,
            "CONSENTRY_LOG_LEVEL": "warning",
            "CONSENTRY_DCR_PRUNE_INTERVAL_SECONDS": "0",
        }
    )
    return Server([sys.executable, "-m", "consentry", "serve"], env, port, data_dir, log)


def hello_server(*, port: int, workers: int, cwd: Path, log: Path) -> Server:
    """Starlette hello world under the same uvicorn options: the ceiling of this machine's HTTP stack."""
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "consentry.bench.hello:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-server-header",
    ]
    return Server(argv, clean_env({}), port, cwd, log)


class Postgres:
    """A throwaway PostgreSQL cluster from Debian's packages.

    ``synchronous_commit=off`` matches SQLite's WAL + ``synchronous=NORMAL``: a crash may lose the last
    commits, never consistency. fsync stays on.
    """

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="consentry-bench-pg-"))
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join("'" + c.replace("'", "'\\''") + "'" for c in cmd)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> str:
        if self.as_root:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        opts = (
            f"-k {self.dir} -p {self.port} -h 127.0.0.1 -c synchronous_commit=off "
            f"-c max_connections=200 -c shared_buffers=256MB"
        )
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")
        # Its Unix socket, as for any PostgreSQL on the same host (deployment.md): TCP loopback cost this VM
        # 0.2-0.8 ms more server CPU per refresh grant (performance.md).
        return f"postgresql+asyncpg://postgres@/postgres?host={self.dir}&port={self.port}"

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        except (subprocess.SubprocessError, OSError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
