"""A real Consentry server in a subprocess, an admin that configures it, and a browser that logs in.

Used by the interop tests (real client libraries) and the first-party e2e test. The server is
``consentry serve`` on 127.0.0.1 and a free port (``tests.support.live_server``), with SQLite in a
temporary folder and one worker; it is stopped by its PID. Everything is configured the way an
operator would: the CLI (``consentry admin create-client``, ``consentry users create``) and the
Management API. The browser side answers our real login and consent pages, click by click.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.support.live_server import LiveProcess, free_port, live_server, server_env

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@dataclass
class LiveServer:
    """``consentry serve`` as a child process (``tests.support.live_server``); issuer ``http://127.0.0.1:PORT/``
    (``https://`` with ``tls``, its own dev certificate; ``verify()`` trusts its CA).

    ``settings`` are extra ``CONSENTRY_*`` values without the prefix (``{"authorization_code_lifetime": "10"}``).
    """

    workdir: Path
    settings: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    tls: bool = False
    process: LiveProcess | None = None
    _stack: ExitStack | None = None

    @property
    def issuer(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    def verify(self) -> Any:
        """httpx's ``verify`` for this server."""
        assert self.process is not None, "the server is not running"
        return self.process.verify()

    @property
    def origin(self) -> str:
        return self.issuer.rstrip("/")

    def url(self, path: str) -> str:
        return self.issuer + path.lstrip("/")

    @property
    def env(self) -> dict[str, str]:
        return server_env(self.workdir, self.port, self._overrides(), None)

    def _overrides(self) -> dict[str, str]:
        return {"CONSENTRY_PORT": str(self.port), **{f"CONSENTRY_{k.upper()}": v for k, v in self.settings.items()}}

    def start(self) -> LiveServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        stack = ExitStack()
        _, self.process = stack.enter_context(live_server(self.workdir, self._overrides(), tls=self.tls))
        self._stack = stack
        return self

    def stop(self) -> None:
        stack, self._stack, self.process = self._stack, None, None
        if stack is not None:
            stack.close()

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines) if self.process else ""

    def cli(self, *args: str, timeout: float = 60) -> Any:
        """Run a ``consentry`` command with this server's settings; its stdout is JSON."""
        assert self.process is not None, "the server is not running"
        return self.process.cli(*args, timeout=timeout)


class Admin:
    """The platform owner: a Management API token from ``consentry admin create-client``, then API calls."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        creds = server.cli("admin", "create-client", "--name", "ops")
        r = httpx.post(
            server.url("oauth/token"),
            timeout=10,
            verify=server.verify(),
            data={"grant_type": "client_credentials", "audience": server.url("api/v2/"), **creds},
        )
        r.raise_for_status()
        self.http = httpx.Client(
            base_url=server.origin,
            timeout=10,
            verify=server.verify(),
            headers={"Authorization": f"Bearer {r.json()['access_token']}"},
        )

    def close(self) -> None:
        self.http.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(path, json=body)
        assert r.status_code == 201, f"POST {path}: {r.status_code} {r.text}"
        return r.json()  # type: ignore[no-any-return]

    def api(self, scopes: list[str], **fields: Any) -> dict[str, Any]:
        """An API with ``allow_offline_access`` and the given scopes; its identifier is unique per call."""
        body = {
            "identifier": f"https://{unique('api')}.example.com/",
            "name": unique("API"),
            "scopes": [{"value": s, "description": f"Scope {s}"} for s in scopes],
            "allow_offline_access": True,
            **fields,
        }
        return self._post("/api/v2/resource-servers", body)

    def app(self, app_type: str, callbacks: list[str], **fields: Any) -> dict[str, Any]:
        """A first-party application (its ``client_secret`` is in the result when it has one)."""
        return self._post(
            "/api/v2/clients", {"name": unique(app_type), "app_type": app_type, "callbacks": callbacks, **fields}
        )

    def client_grant(self, client_id: str, audience: str, scope: list[str]) -> dict[str, Any]:
        return self._post("/api/v2/client-grants", {"client_id": client_id, "audience": audience, "scope": scope})

    def user(self, password: str = PASSWORD) -> dict[str, Any]:
        email = f"{unique('user')}@example.com"
        user: dict[str, Any] = self.server.cli("users", "create", "--email", email, "--password", password)
        user.setdefault("email", email)
        return user


# --- the browser side ---------------------------------------------------------------------------


def same_origin(url: str, issuer: str) -> bool:
    a, b = urlsplit(url), urlsplit(issuer)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def on_page(url: str, issuer: str, path: str) -> bool:
    return same_origin(url, issuer) and urlsplit(url).path == urlsplit(issuer).path + path.lstrip("/")


async def sign_in(
    page: Any, issuer: str, username: str, password: str, done: Callable[[str], bool], *, action: str = "accept"
) -> None:
    """Answer our login and consent pages until ``done(page.url)``: what a user does, click by click."""
    for _ in range(5):
        if done(page.url):
            return
        if on_page(page.url, issuer, "u/login"):
            await page.fill("#username", username)
            await page.fill("#password", password)
            async with page.expect_navigation():
                await page.click("#submit")
        elif on_page(page.url, issuer, "u/consent"):
            async with page.expect_navigation():
                await page.click(f"#{action}")
        else:
            await page.wait_for_url(
                lambda url: done(url) or on_page(url, issuer, "u/login") or on_page(url, issuer, "u/consent")
            )
    raise AssertionError(f"the browser did not get through the login: it is at {page.url}")


async def submit_login(page: Any, issuer: str, username: str, password: str, *, accept: bool = True) -> None:
    """On our login page: fill the form, submit, and answer the consent screen if one comes next."""
    await page.wait_for_selector("#username")
    assert on_page(page.url, issuer, "u/login"), page.url
    await sign_in(
        page,
        issuer,
        username,
        password,
        lambda url: not same_origin(url, issuer),
        action="accept" if accept else "deny",
    )


async def authorize_in_browser(
    context: Any,
    authorization_url: str,
    callback: str,
    issuer: str,
    username: str,
    password: str = PASSWORD,
    *,
    timeout: float = 30,
    action: str = "accept",
) -> str:
    """Open the authorization URL, log in (and consent, or ``action="deny"``) through the real pages; return the
    callback URL reached.

    The callback must be served (``AppServer``): a redirect hop cannot be caught with ``page.route``.
    """
    page = await context.new_page()
    try:
        async with asyncio.timeout(timeout):
            await page.goto(authorization_url)
            await sign_in(page, issuer, username, password, lambda url: url.startswith(callback), action=action)
            return str(page.url)
    finally:
        await page.close()


class AppServer:
    """A relying party's web server on 127.0.0.1: static files from ``root`` and a callback that answers 200.

    Runs in a thread of the test process (``http.server``); every request path is recorded in ``seen``.
    """

    def __init__(self, root: Path | None = None, files: dict[str, bytes] | None = None) -> None:
        self.root, self.files, self.seen = root, dict(files or {}), []
        self.posts: list[tuple[str, str]] = []  # (path, form body) of every POST, e.g. response_mode=form_post
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="interop-app-server", daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.origin + path

    def __enter__(self) -> AppServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                server.seen.append(self.path)
                path = self.path.split("?")[0]
                if path in server.files:
                    kind = "text/html" if path.endswith(("/", ".html")) else "application/javascript"
                    return self._send(200, server.files[path], f"{kind}; charset=utf-8")
                if server.root is not None and path.endswith(".js"):
                    file = (server.root / path.lstrip("/")).resolve()
                    if file.is_relative_to(server.root.resolve()) and file.is_file():
                        return self._send(200, file.read_bytes(), "application/javascript; charset=utf-8")
                return self._send(200, b"callback received", "text/plain; charset=utf-8")

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
                server.posts.append((self.path, self.rfile.read(length).decode("utf-8", "replace")))
                return self._send(200, b"form received", "text/plain; charset=utf-8")

        return Handler
