"""mcp-authlab (an MCP authorization conformance scanner) grades the example MCP server and Consentry.

``mcp-authlab login --thorough`` registers by DCR, signs in (its browser step is ``webbrowser.open``, so
``BROWSER`` points at a small Playwright script that fills Consentry's login and consent pages) and probes
the authorization server (PKCE, redirect_uri, resource binding, refresh rotation, RFC 9207 ``iss``).
``mcp-authlab scan`` then checks the resource server: challenges, RFC 9728 metadata, token handling, scopes.
Accepted warnings: ``TLS-01`` (plain http on 127.0.0.1 in tests) and ``ASF-02``/``ASF-03``: Consentry refuses
a wrong ``code_verifier`` or ``redirect_uri`` with ``invalid_grant`` and Auth0's status ``403`` (SPEC §5) where
OAuth 2.1 uses 400; the refusal itself is what those checks are about.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.harness import PASSWORD, ROOT, Admin, LiveServer
from tests.interop.test_mcp_sdk import NotesServer, register_notes_api
from tests.support.browser import CHROMIUM_ARGS, require_chromium

pytestmark = pytest.mark.interop
ACCEPTED = {
    "TLS-01": "plain http on loopback",
    "ASF-02": "unexpected 403 for a wrong code_verifier",  # Auth0's status for invalid_grant (SPEC §5)
    "ASF-03": "unexpected 403 for a wrong redirect_uri",
}

BROWSER_SCRIPT = f'''
"""mcp-authlab's "browser": open the URL in headless Chromium, log in, consent, land on the callback."""
import os, shutil, sys
from playwright.sync_api import sync_playwright

url = sys.argv[1]
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args={list(CHROMIUM_ARGS)!r})
    page = browser.new_page()
    page.set_default_timeout(15000)
    page.goto(url)
    if "/u/login" in page.url:
        page.fill("input[name=username]", os.environ["AUTHLAB_USERNAME"])
        page.fill("input[name=password]", os.environ["AUTHLAB_PASSWORD"])
        with page.expect_navigation():
            page.click("button[type=submit]")
    if "/u/consent" in page.url:
        with page.expect_navigation():
            page.click("button[name=action][value=accept]")
    page.wait_for_url(lambda u: u.startswith("http://127.0.0.1") and "/callback" in u or "code=" in u)
    browser.close()
'''


def authlab(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("mcp-authlab")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)


@pytest.fixture
def notes(live: LiveServer, admin: Admin, tmp_path: Path) -> Iterator[NotesServer]:
    server = NotesServer(live.issuer, tmp_path)
    try:
        register_notes_api(admin, server.resource)
        yield server
    finally:
        server.stop()


def test_mcp_authlab_grades_consentry_and_the_example_server(
    live: LiveServer, admin: Admin, notes: NotesServer, tmp_path: Path
) -> None:
    if shutil.which("mcp-authlab", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("mcp-authlab is not installed (.venv/bin/pip install -e .[test])")
    require_chromium()
    # a second API for the scanner's "foreign" token (TOK-03: a token for another resource is refused)
    foreign = notes.resource.replace("/mcp", "/other")
    register_notes_api(admin, foreign)
    user = admin.user()
    script = tmp_path / "pwlogin.py"
    script.write_text(BROWSER_SCRIPT)
    env = {
        **os.environ,
        "BROWSER": f"{sys.executable} {script} %s",
        "NO_COLOR": "1",
        "MCP_AUTHLAB_TOKENS": str(tmp_path / "tokens.json"),  # not ~/.config
        "AUTHLAB_USERNAME": user["email"],
        "AUTHLAB_PASSWORD": PASSWORD,
    }
    # read-only on purpose: SCOPE-01 then calls add_note and must get 403 insufficient_scope
    login = authlab(
        "login",
        notes.resource,
        "--thorough",
        "--scope",
        "read:notes offline_access",
        "--foreign-resource",
        foreign,
        "--timeout",
        "60",
        env=env,
    )
    assert login.returncode == 0, login.stdout[-3000:] + login.stderr[-3000:]
    scan = authlab("scan", notes.resource, "--format", "json", "--tool", "add_note", env=env)
    report: dict[str, Any] = json.loads(scan.stdout)
    (tmp_path / "report.json").write_text(json.dumps(report, indent=2))
    results = {r["id"]: r for r in report["results"]}
    flagged = {cid: r["message"] for cid, r in results.items() if r["status"] != "pass"}
    assert flagged.keys() == ACCEPTED.keys(), json.dumps(flagged, indent=2)
    for cid, message in ACCEPTED.items():
        assert results[cid]["status"] == "warn" and message in results[cid]["message"], results[cid]
    assert report["grade"] == "A" and report["must_failures"] == [] and report["critical_failures"] == []
    assert "insufficient_scope" in json.dumps(results["SCOPE-01"]["evidence"])
    for cid in (
        "CHAL-01",
        "CHAL-02",
        "CHAL-03",
        "PRM-01",
        "PRM-02",
        "PRM-04",
        "ASM-01",
        "ASM-02",
        "ASM-04",
        "ASM-05",
        "ASM-06",
        "ASF-01",
        "ASF-04",
        "ASF-05",
        "ASF-06",
        "TOK-01",
        "TOK-02",
        "TOK-03",
        "TOK-04",
        "TOK-05",
        "TOK-06",
        "SCOPE-01",
        "SESS-01",
    ):
        assert results[cid]["status"] == "pass", (cid, results[cid])
