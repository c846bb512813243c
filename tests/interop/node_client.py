"""Run the node relying-party scripts in tests/interop/node: find node, install the lockfile, talk JSON lines."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parent / "node"


def node_modules() -> Path:
    """``node_modules`` from the committed lockfile (``npm ci`` when missing); skip when node is not installed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are not installed (apt-get install -y nodejs npm; make test installs them)")
    modules = NODE_DIR / "node_modules"
    if not (modules / ".package-lock.json").exists():
        done = subprocess.run(
            ["npm", "ci", "--silent", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed: {done.stderr.decode()[-2000:]}"
    return modules


class NodeScript:
    """A node process that speaks one JSON object per line on stdin/stdout; killed by PID when done."""

    def __init__(self, script: str, env: dict[str, str]) -> None:
        self.script, self.env, self.proc = script, env, None
        self.stderr = b""

    async def __aenter__(self) -> NodeScript:
        node_modules()
        self.proc = await asyncio.create_subprocess_exec(
            "node",
            str(NODE_DIR / self.script),
            cwd=NODE_DIR,
            env={**os.environ, **self.env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        return self

    async def read(self, timeout: float = 30) -> dict[str, Any]:
        assert self.proc and self.proc.stdout
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            await self._collect_stderr()
            raise AssertionError(f"{self.script} ended without output: {self.stderr.decode()[-3000:]}")
        return json.loads(line)  # type: ignore[no-any-return]

    async def send(self, message: dict[str, Any]) -> None:
        assert self.proc and self.proc.stdin
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        await self.proc.stdin.drain()

    async def _collect_stderr(self) -> None:
        assert self.proc and self.proc.stderr
        try:
            self.stderr = await asyncio.wait_for(self.proc.stderr.read(), 5)
        except TimeoutError:
            pass

    async def __aexit__(self, *exc: object) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
