"""A small cluster on one machine: one network namespace per member, joined by a bridge in a switch namespace.

Every address is in ``10.231.0.0/24`` and lives only inside namespaces this module creates (the bridge too),
so nothing here can reach or be reached from the host's own network. Members are processes started with
``ip netns exec`` (which execs: the PID is the member's own). ``Cluster.teardown()`` kills every process it
started (by PID) and deletes every namespace, whatever happened before.

``Cluster.call(ns, fn)`` runs ``fn()`` on a thread that entered the namespace with ``setns(2)`` (a network
namespace is per thread), so the test process itself can be a client inside the cluster.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
SUBNET = "10.231.0"
CLONE_NEWNET = 0x40000000


class ClusterUnavailable(Exception):
    """Namespaces cannot be made here (with the exact reason)."""


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ClusterUnavailable(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")


def prerequisites() -> str | None:
    """Why the cluster cannot run here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool, package in (("ip", "iproute2"), ("nginx", "nginx")):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is missing (apt-get install -y {package})"
    return None


class Cluster:
    def __init__(self, workdir: Path) -> None:
        self.prefix = "cs" + secrets.token_hex(2)  # interface names must stay under 16 characters
        self.workdir = workdir
        self.switch = f"{self.prefix}-sw"
        self.namespaces: list[str] = []
        self.addresses: dict[str, str] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def create_switch(self) -> None:
        _ip("netns", "add", self.switch)
        self.namespaces.append(self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")

    def add_member(self, name: str, host: int) -> str:
        """A namespace ``name`` with address ``10.231.0.<host>`` on the switch; returns the address."""
        ns, index = self.ns(name), len(self.namespaces)
        _ip("netns", "add", ns)
        self.namespaces.append(ns)
        inner, outer = f"{self.prefix}m{index}", f"{self.prefix}s{index}"
        _ip("link", "add", inner, "netns", ns, "type", "veth", "peer", "name", outer, "netns", self.switch)
        address = f"{SUBNET}.{host}"
        _ip("-n", ns, "addr", "add", f"{address}/24", "dev", inner)
        _ip("-n", ns, "link", "set", inner, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", self.switch, "link", "set", outer, "master", "br0")
        _ip("-n", self.switch, "link", "set", outer, "up")
        self.addresses[name] = address
        return address

    def start(
        self, name: str, member: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Run ``argv`` in ``member``'s namespace; output goes to ``workdir/<name>.log``."""
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - kept open by the child
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(member), *argv],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        self.processes[name] = process
        return process

    def log(self, name: str, lines: int = 60) -> str:
        path = self.workdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def call(self, member: str, fn: Callable[[], T]) -> T:
        """``fn()`` on a thread inside ``member``'s network namespace."""
        result: list[Any] = []

        def run() -> None:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/var/run/netns/{self.ns(member)}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns failed")
            finally:
                os.close(fd)
            try:
                result.append(("ok", fn()))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                result.append(("error", exc))

        thread = threading.Thread(target=run, name=f"netns-{member}")
        thread.start()
        thread.join()
        kind, value = result[0]
        if kind == "error":
            raise value
        return value  # type: ignore[no-any-return]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        if process.poll() is None:
            os.kill(process.pid, sig)
        process.wait(timeout=15)

    def teardown(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is None:
                try:
                    os.kill(process.pid, signal.SIGTERM)
                    process.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    if process.poll() is None:
                        os.kill(process.pid, signal.SIGKILL)
                        process.wait(timeout=10)
            del name
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        self.namespaces.clear()
