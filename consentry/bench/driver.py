"""Multi-step browser flows, driven by concurrent asyncio tasks over keep-alive connections.

- ``sso``: a user with a live SSO session and a stored consent: ``GET /authorize`` → 302 with a code →
  ``POST /oauth/token`` (PKCE; ID, access and refresh token). One flow = two requests.
- ``login``: no session: ``GET /authorize`` → login page → ``POST /u/login`` (argon2id) →
  ``/authorize/resume`` → code → token. One flow = five requests, one password check.

A flow counts only if every step answered exactly as a browser and client expect; anything else is
an error. Flows finishing during the warm-up are not counted.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from consentry.bench.http import Connection, HttpError, Reply
from consentry.bench.results import Measurement, percentile
from consentry.bench.seed import API, CALLBACK, PASSWORD, SCOPE, Fixture, s256

HIDDEN = re.compile(rb'name="(state|csrf)" value="([^"]*)"')


class FlowError(Exception):
    pass


def _expect(reply: Reply, status: int, what: str) -> Reply:
    if reply.status != status:
        raise FlowError(f"{what}: HTTP {reply.status} {reply.text[:200]!r}")
    return reply


def _path(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + ("?" + parts.query if parts.query else "")


def _cookie(reply: Reply, name: str) -> str:
    for header in reply.cookies:
        if header.startswith((name + "=", "__Secure-" + name + "=")):
            return header.split(";", 1)[0]
    raise FlowError(f"no {name} cookie")


def authorize_path(fx: Fixture) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": fx.app_id,
            "redirect_uri": CALLBACK,
            "scope": SCOPE,
            "audience": API,
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
    )
    return "/authorize?" + query, verifier


async def exchange(conn: Connection, fx: Fixture, callback: str, verifier: str) -> None:
    if not callback.startswith(CALLBACK + "?"):
        raise FlowError(f"unexpected redirect {callback[:200]}")
    code = parse_qs(urlsplit(callback).query).get("code", [""])[0]
    reply = _expect(
        await conn.post_form(
            "/oauth/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": CALLBACK,
                "client_id": fx.app_id,
                "client_secret": fx.app_secret,
            },
        ),
        200,
        "token",
    )
    if b'"id_token"' not in reply.body or b'"refresh_token"' not in reply.body:
        raise FlowError(f"token response lacks a token: {reply.text[:200]}")


async def sso_flow(conn: Connection, fx: Fixture, n: int) -> None:
    cookie = "consentry_session=" + fx.sessions[n % len(fx.sessions)]
    path, verifier = authorize_path(fx)
    reply = _expect(await conn.get(path, cookie), 302, "authorize")
    await exchange(conn, fx, reply.location, verifier)


async def login_flow(conn: Connection, fx: Fixture, n: int) -> None:
    path, verifier = authorize_path(fx)
    reply = _expect(await conn.get(path), 302, "authorize")
    page = _expect(await conn.get(_path(reply.location)), 200, "login page")
    fields = dict((k.decode(), v.decode()) for k, v in HIDDEN.findall(page.body))
    if "state" not in fields or "csrf" not in fields:
        raise FlowError("login page without state/csrf")
    form = {**fields, "username": fx.emails[n % len(fx.emails)], "password": PASSWORD}
    login_cookie = _cookie(page, "consentry_login")  # the form's token is bound to it (login CSRF)
    reply = _expect(await conn.post_form("/u/login", form, login_cookie), 303, "login")
    cookie = _cookie(reply, "consentry_session")
    reply = _expect(await conn.get(_path(reply.location), cookie), 302, "resume")
    await exchange(conn, fx, reply.location, verifier)


FLOWS: dict[str, Callable[[Connection, Fixture, int], Awaitable[None]]] = {"sso": sso_flow, "login": login_flow}


async def _drive(
    host: str, port: int, fx: Fixture, flow: str, concurrency: int, duration: float, warmup: float
) -> Measurement:
    step = FLOWS[flow]
    start = time.perf_counter()
    counted_from, stop_at = start + warmup, start + warmup + duration
    latencies: list[float] = []
    errors: dict[str, int] = {}
    first_error: list[str] = []
    counter = 0

    async def user(slot: int) -> None:
        nonlocal counter
        conn = Connection(host, port)
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= stop_at:
                    return
                counter += 1
                try:
                    await step(conn, fx, counter)
                except (FlowError, HttpError) as exc:
                    if time.perf_counter() >= counted_from:
                        key = str(exc).split(":")[0][:60]
                        errors[key] = errors.get(key, 0) + 1
                    if not first_error:
                        first_error.append(str(exc))
                    continue
                t1 = time.perf_counter()
                if t0 >= counted_from and t1 <= stop_at:
                    latencies.append(t1 - t0)
        finally:
            await conn.close()

    await asyncio.gather(*(user(i) for i in range(concurrency)))
    latencies.sort()
    n_err = sum(errors.values())
    return Measurement(
        requests=len(latencies),
        seconds=duration,
        rate=len(latencies) / duration,
        p50_ms=percentile(latencies, 50) * 1000,
        p90_ms=percentile(latencies, 90) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=(latencies[-1] * 1000) if latencies else 0.0,
        errors=n_err,
        error_kinds=errors,
        note=first_error[0][:300] if first_error else "",
    )


def run(base_url: str, fx: Fixture, flow: str, *, concurrency: int, duration: float, warmup: float) -> Measurement:
    parts = urlsplit(base_url)
    try:
        import uvloop

        runner: Callable[[Coroutine[Any, Any, Measurement]], Measurement] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        runner = asyncio.run
    return runner(_drive(parts.hostname or "127.0.0.1", parts.port or 80, fx, flow, concurrency, duration, warmup))
