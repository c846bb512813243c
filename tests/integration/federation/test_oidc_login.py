"""Enterprise OIDC connections over HTTP: universal login offers them, the callback checks the upstream ID
token fully, users are linked by (connection, sub), and third-party apps see domain-level ones only (T6)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from sqlalchemy import select

from consentry.runtime import Runtime
from consentry.storage.models import AuditEvent, User
from tests.integration.federation.conftest import at_provider, choose, make_connection, to_login_page
from tests.integration.flows.conftest import App, make_api, make_app
from tests.support.flow import consent, exchange, follow, hidden
from tests.support.upstream_idp import CLIENT_ID, UpstreamIdP

USER_ID = "oidc|corp|corp-user-1"


def _error_code(step_or_response: Any) -> str:
    page = step_or_response.text if isinstance(step_or_response, httpx.Response) else step_or_response.page
    marker = 'data-error="'
    assert marker in page, page[:600]
    return page.split(marker, 1)[1].split('"', 1)[0]


async def test_a_third_party_app_signs_a_user_in_through_a_domain_level_connection_and_consents(
    client: httpx.AsyncClient, runtime: Runtime, idp: UpstreamIdP, partner: App
) -> None:
    step, verifier = await to_login_page(client, partner)
    assert step.response.status_code == 200 and "Continue with Corp SSO" in step.text
    assert 'name="password"' not in step.page, "no database connection is domain level: no password form"
    r = await choose(client, step, "corp")
    sent = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert sent["client_id"] == CLIENT_ID and sent["redirect_uri"] == "http://testserver/login/callback"
    assert sent["nonce"] and sent["state"] and sent["scope"] == "openid profile email"
    step = await at_provider(client, idp, r)
    assert step.on_consent, step.page[:600]
    step = await consent(client, step)
    token = await exchange(client, step.params["code"], partner.client_id, partner.callback, verifier)
    assert token.status_code == 200, token.text
    claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == USER_ID and claims["scope"] == "read:posts"
    sent_form = idp.token_requests[0]["form"]
    assert sent_form["code_verifier"] and sent_form["client_secret"] == "upstream-client-secret"
    async with runtime.db.read() as s:
        user = await s.get(User, USER_ID)
    assert user is not None and user.email == "alice@corp.example" and user.password_hash is None


async def test_a_non_domain_level_connection_is_not_offered_to_third_party_apps(
    client: httpx.AsyncClient, runtime: Runtime, idp: UpstreamIdP, partner: App
) -> None:
    await make_connection(runtime, idp, "private", domain_level=False, enabled=[partner.client_id])
    step, _ = await to_login_page(client, partner)
    assert 'data-connection="corp"' in step.page and 'data-connection="private"' not in step.page
    form = {"state": hidden(step.page, "state"), "csrf": hidden(step.page, "csrf"), "connection": "private"}
    r = await client.post("/u/login/federated", data=form)
    assert r.status_code == 403 and _error_code(r) == "access_denied"
    only, _ = await to_login_page(client, partner, connection="private")
    assert only.response.status_code == 403 and "domain-level" in only.text


async def test_a_first_party_app_is_offered_its_enabled_connection(
    client: httpx.AsyncClient, runtime: Runtime, idp: UpstreamIdP
) -> None:
    await make_api(runtime)
    app = await make_app(runtime, third_party=False)
    await make_connection(runtime, idp, "private", domain_level=False, enabled=[app.client_id])
    step, _ = await to_login_page(client, app)
    assert 'data-connection="private"' in step.page and 'name="password"' in step.page


async def test_home_realm_discovery_sends_the_email_domain_to_its_provider(
    client: httpx.AsyncClient, idp: UpstreamIdP, partner: App
) -> None:
    step, _ = await to_login_page(client, partner)
    form = {"state": hidden(step.page, "state"), "csrf": hidden(step.page, "csrf"), "username": "Bob@Corp.Example"}
    r = await client.post("/u/login", data=form)
    assert r.status_code == 303 and r.headers["location"].startswith(idp.issuer + "/authorize?")
    assert parse_qs(urlsplit(r.headers["location"]).query)["login_hint"] == ["bob@corp.example"]
    other = {**form, "username": "bob@elsewhere.example"}
    refused = await client.post("/u/login", data=other)
    assert refused.status_code == 400 and "No sign-in method" in refused.text


async def test_the_connection_parameter_goes_straight_to_the_provider(
    client: httpx.AsyncClient, idp: UpstreamIdP, partner: App
) -> None:
    step, _ = await to_login_page(client, partner, connection="corp")
    assert step.callback is not None and step.callback.startswith(idp.issuer + "/authorize?")


async def test_users_are_linked_by_connection_and_upstream_sub(
    client: httpx.AsyncClient, runtime: Runtime, idp: UpstreamIdP, partner: App, mgmt: httpx.AsyncClient
) -> None:
    for name in ("Alice Corp", "Alice C."):
        idp.script.overrides = {"name": name}
        step, _ = await to_login_page(client, partner)
        step = await at_provider(client, idp, await choose(client, step, "corp"))
        assert step.on_consent or step.callback, step.page[:400]
        client.cookies.clear()
    r = await mgmt.get(f"/api/v2/users/{USER_ID}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["logins_count"] == 2 and body["name"] == "Alice C."
    assert body["identities"] == [
        {"connection": "corp", "provider": "oidc", "user_id": "corp|corp-user-1", "isSocial": False}
    ]


def _expired() -> dict[str, Any]:
    return {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}


ID_TOKEN_FAILURES = [
    ("wrong_iss", {"overrides": {"iss": "https://evil.example"}}, "iss"),
    ("wrong_aud", {"overrides": {"aud": "someone-else"}}, "aud"),
    ("extra_aud_without_azp", {"overrides": {"aud": [CLIENT_ID, "someone-else"]}}, "azp"),
    ("wrong_nonce", {"overrides": {"nonce": "not-the-nonce"}}, "nonce"),
    ("no_nonce", {"overrides": {"nonce": None}}, "nonce"),
    ("expired", {"overrides": _expired()}, "expired"),
    ("iat_in_future", {"overrides": {"iat": int(time.time()) + 3600}}, "iat"),
    ("no_exp", {"overrides": {"exp": None}}, "exp"),
    ("no_sub", {"overrides": {"sub": None}}, "sub"),
    ("bad_signature", {"sign_with": "other"}, "signature"),
    ("unknown_kid", {"header": {"kid": "rotated-away"}}, "kid"),
    ("hmac_alg", {"sign_with": "hmac"}, "alg"),
]


@pytest.mark.parametrize(("case", "script", "reason"), ID_TOKEN_FAILURES, ids=[c[0] for c in ID_TOKEN_FAILURES])
async def test_every_id_token_check_refuses_with_a_clean_error_page(
    client: httpx.AsyncClient,
    runtime: Runtime,
    idp: UpstreamIdP,
    partner: App,
    case: str,
    script: dict[str, Any],
    reason: str,
) -> None:
    for key, value in script.items():
        setattr(idp.script, key, value)
    step, _ = await to_login_page(client, partner)
    step = await at_provider(client, idp, await choose(client, step, "corp"))
    assert step.response.status_code == 401, (case, step.page[:600])
    assert _error_code(step) == "invalid_token" and reason in step.text
    async with runtime.db.read() as s:
        assert await s.get(User, USER_ID) is None, "no user is linked from a refused ID token"
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.type == "f"))).all()
    assert [e.details["connection"] for e in events] == ["corp"] and reason in events[0].details["reason"]


async def test_the_callback_is_single_use_and_bound_to_the_browser(
    client: httpx.AsyncClient, app: Any, idp: UpstreamIdP, partner: App
) -> None:
    step, _ = await to_login_page(client, partner)
    query = idp.issue_code((await choose(client, step, "corp")).headers["location"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as other:
        stolen = await other.get("/login/callback", params=query)  # another browser (login CSRF)
    assert stolen.status_code == 403 and _error_code(stolen) == "invalid_request"
    first = await follow(client, await client.get("/login/callback", params=query))
    assert first.on_consent, first.page[:400]
    replay = await client.get("/login/callback", params=query)
    assert replay.status_code == 400 and _error_code(replay) == "invalid_request"
    unknown = await client.get("/login/callback", params={"state": "nope", "code": "x"})
    assert unknown.status_code == 400 and _error_code(unknown) == "invalid_request"


async def test_provider_errors_are_clean_pages(client: httpx.AsyncClient, idp: UpstreamIdP, partner: App) -> None:
    step, _ = await to_login_page(client, partner)
    query = idp.issue_code((await choose(client, step, "corp")).headers["location"])
    denied = await client.get("/login/callback", params={"state": query["state"], "error": "access_denied"})
    assert denied.status_code == 403 and _error_code(denied) == "access_denied"
    idp.script.token_status = 500
    step, _ = await to_login_page(client, partner)
    failed = await at_provider(client, idp, await choose(client, step, "corp"))
    assert failed.response.status_code == 502 and _error_code(failed) == "temporarily_unavailable"
    idp.script.token_status, idp.script.omit_id_token = 200, True
    step, _ = await to_login_page(client, partner)
    no_token = await at_provider(client, idp, await choose(client, step, "corp"))
    assert no_token.response.status_code == 502 and "no ID token" in no_token.text


async def test_a_blocked_linked_user_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, idp: UpstreamIdP, partner: App, mgmt: httpx.AsyncClient
) -> None:
    step, _ = await to_login_page(client, partner)
    await at_provider(client, idp, await choose(client, step, "corp"))
    client.cookies.clear()
    assert (await mgmt.patch(f"/api/v2/users/{USER_ID}", json={"blocked": True})).status_code == 200
    client.headers.pop("Authorization")
    step, _ = await to_login_page(client, partner)
    refused = await at_provider(client, idp, await choose(client, step, "corp"))
    assert refused.response.status_code == 403 and "blocked" in refused.text
