"""The scenarios, their targets (per run on 2 workers) and the request each one sends."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from consentry.bench.seed import API, CALLBACK, VERIFIER, Fixture
from consentry.bench.wrk import WrkRequest


@dataclass(frozen=True)
class Scenario:
    name: str
    target: float  # requests (or flows) per second
    kind: str  # "wrk" or a driver flow name
    description: str
    p99_ms: float | None = None  # latency target, when the issue sets one
    consumes: str | None = None  # the seeded list it uses up (one item per request)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("jwks", 25_000, "wrk", "GET /.well-known/jwks.json"),
    Scenario("discovery", 25_000, "wrk", "GET /.well-known/openid-configuration"),
    Scenario(
        "client_credentials",
        2_000,
        "wrk",
        "POST /oauth/token grant_type=client_credentials (secret in body)",
        p99_ms=40.0,
    ),
    Scenario("introspection", 5_000, "wrk", "POST /oauth/introspect of a valid access token (client auth)"),
    Scenario(
        "refresh_token", 800, "wrk", "POST /oauth/token grant_type=refresh_token with rotation", consumes="refresh"
    ),
    Scenario(
        "code_exchange",
        500,
        "wrk",
        "POST /oauth/token grant_type=authorization_code + PKCE (ID, access, refresh)",
        consumes="codes",
    ),
    Scenario("sso_flow", 300, "sso", "/authorize with SSO session + stored consent → code → token (flows/s)"),
    Scenario("password_login", 80, "login", "/authorize → login page → POST /u/login (argon2id) → code → token"),
)

BY_NAME = {s.name: s for s in SCENARIOS}


def form(**values: str) -> str:
    return urlencode(values)


def wrk_request(s: Scenario, fx: Fixture, access_token: str) -> WrkRequest:
    """The HTTP request wrk repeats for a single-request scenario."""
    if s.name == "jwks":
        return WrkRequest(path="/.well-known/jwks.json")
    if s.name == "discovery":
        return WrkRequest(path="/.well-known/openid-configuration")
    if s.name == "client_credentials":
        return WrkRequest(
            "POST",
            "/oauth/token",
            form(grant_type="client_credentials", client_id=fx.m2m_id, client_secret=fx.m2m_secret, audience=API),
        )
    if s.name == "introspection":
        return WrkRequest(
            "POST",
            "/oauth/introspect",
            form(token=access_token, client_id=fx.m2m_id, client_secret=fx.m2m_secret),
            expect='"active":true',
        )
    if s.name == "refresh_token":
        prefix = form(grant_type="refresh_token", client_id=fx.app_id, client_secret=fx.app_secret) + "&refresh_token="
        return WrkRequest("POST", "/oauth/token", prefix, items=fx.files["refresh"])
    if s.name == "code_exchange":
        prefix = (
            form(
                grant_type="authorization_code",
                client_id=fx.app_id,
                client_secret=fx.app_secret,
                redirect_uri=CALLBACK,
                code_verifier=VERIFIER,
            )
            + "&code="
        )
        return WrkRequest("POST", "/oauth/token", prefix, items=fx.files["codes"], expect='"id_token"')
    raise KeyError(s.name)
