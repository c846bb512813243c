"""Multi-step browser flows, driven by concurrent asyncio tasks over keep-alive connections.

- ``sso``: a user with a live SSO session and a stored consent: ``GET /authorize`` → 302 with a code →
  ``POST /oauth/token`` (PKCE; ID, access and refresh token). One flow = two requests.
- ``login``: no session: ``GET /authorize`` → login page → ``POST /u/login`` (argon2id) →
  ``/authorize/resume`` → code → token. One flow = five requests, one password check.

``login_steps`` runs login flows one at a time and reads the server's CPU around each request: what each of the
five requests costs, the password check's among them (docs/performance.md, *The login beside its hash*).

A flow counts only if every step answered exactly as a browser and client expect; anything else is
an error. Flows finishing during the warm-up are not counted.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

from consentry.bench.http import Connection, HttpError, Reply
from consentry.bench.results import Measurement, percentile
from consentry.bench.seed import API, CALLBACK, PASSWORD, SCOPE, Fixture, s256

T = TypeVar("T")
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


Step = Callable[[str, Awaitable[Reply]], Awaitable[Reply]]  # (step name, the request) → its reply
LOGIN_STEPS = ("authorize", "login page", "POST /u/login", "resume", "token")


async def _untimed(name: str, request: Awaitable[Reply]) -> Reply:
    return await request


async def exchange(conn: Connection, fx: Fixture, callback: str, verifier: str, step: Step = _untimed) -> None:
    if not callback.startswith(CALLBACK + "?"):
        raise FlowError(f"unexpected redirect {callback[:200]}")
    code = parse_qs(urlsplit(callback).query).get("code", [""])[0]
    reply = _expect(
        await step(
            "token",
            conn.post_form(
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


async def login_flow(conn: Connection, fx: Fixture, n: int, step: Step = _untimed) -> None:
    path, verifier = authorize_path(fx)
    reply = _expect(await step("authorize", conn.get(path)), 302, "authorize")
    page = _expect(await step("login page", conn.get(_path(reply.location))), 200, "login page")
    fields = dict((k.decode(), v.decode()) for k, v in HIDDEN.findall(page.body))
    if "state" not in fields or "csrf" not in fields:
        raise FlowError("login page without state/csrf")
    form = {**fields, "username": fx.emails[n % len(fx.emails)], "password": PASSWORD}
    login_cookie = _cookie(page, "consentry_login")  # the form's token is bound to it (login CSRF)
    reply = _expect(await step("POST /u/login", conn.post_form("/u/login", form, login_cookie)), 303, "login")
    cookie = _cookie(reply, "consentry_session")
    reply = _expect(await step("resume", conn.get(_path(reply.location), cookie)), 302, "resume")
    await exchange(conn, fx, reply.location, verifier, step)


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


SETTLE = 0.01  # seconds after each answer, so that the server's CPU accounting includes the request's tail
QUIET = 2.0  # seconds to wait before the first flow, then to measure the server's idle CPU


async def _login_steps(host: str, port: int, fx: Fixture, flows: int, cpu: Callable[[], float]) -> dict[str, float]:
    spent = dict.fromkeys(LOGIN_STEPS, 0.0)

    async def timed(name: str, request: Awaitable[Reply]) -> Reply:
        before = cpu()
        reply = await request
        await asyncio.sleep(SETTLE)
        spent[name] += cpu() - before
        return reply

    await asyncio.sleep(QUIET)  # what the load before left to finish (audit flush, WAL checkpoint)
    idle_before = cpu()
    await asyncio.sleep(QUIET)
    idle_per_step = (cpu() - idle_before) * SETTLE / QUIET  # the server's own timers, not any request's
    conn = Connection(host, port)
    try:
        for n in range(flows):
            await login_flow(conn, fx, n, timed)
    finally:
        await conn.close()
    return {name: round(max(0.0, s / flows - idle_per_step) * 1000, 2) for name, s in spent.items()}


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, T]], T]:
    try:
        import uvloop

        return uvloop.run
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run


def run(base_url: str, fx: Fixture, flow: str, *, concurrency: int, duration: float, warmup: float) -> Measurement:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    return _event_loop_runner()(_drive(host, port, fx, flow, concurrency, duration, warmup))


def login_steps(base_url: str, fx: Fixture, *, flows: int, cpu: Callable[[], float]) -> dict[str, float]:
    """Server CPU in ms per step of the login flow (``LOGIN_STEPS``), over ``flows`` flows run one after another.

    One request at a time, so the server's CPU between the request and its answer (and ``SETTLE`` after it) is
    that request's; the server's idle CPU over the same wait is subtracted. ``cpu`` reads the server's CPU seconds.
    """
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    return _event_loop_runner()(_login_steps(host, port, fx, flows, cpu))
