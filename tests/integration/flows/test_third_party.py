"""Third-party application rules over HTTP (SPEC T3–T8)."""

from __future__ import annotations

import httpx
import jwt

from consentry.runtime import Runtime
from tests.integration.flows.conftest import API, PASSWORD, grant, make_api, make_app, promote_default_connection
from tests.support.flow import authorize, consent, exchange, login, pkce_pair


def _params(app_id: str, callback: str, challenge: str, scope: str = "read:posts write:posts", **extra: str) -> dict:
    return {
        "client_id": app_id,
        "redirect_uri": callback,
        "response_type": "code",
        "scope": scope,
        "audience": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s1",
        **extra,
    }


async def _token_scope(
    client: httpx.AsyncClient, app_id: str, callback: str, scope: str, secret: str | None = None
) -> str:
    verifier, challenge = pkce_pair()
    step = await authorize(client, _params(app_id, callback, challenge, scope))
    if step.on_login:
        step = await login(client, step, "alice@example.com", PASSWORD)
    if step.on_consent:
        step = await consent(client, step)
    r = await exchange(client, step.params["code"], app_id, callback, verifier, secret)
    assert r.status_code == 200, r.text
    return str(r.json()["scope"])


async def test_T7_third_party_without_client_grant_is_refused_even_with_allow_all(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    app = await make_app(social, third_party=True)
    _, challenge = pkce_pair()
    step = await authorize(client, _params(app.client_id, app.callback, challenge))
    assert step.callback is None, "open_redirect_protection: shown, never redirected"
    assert step.response.status_code == 403
    assert "access_denied" in step.page and "Social API" in step.text


async def test_T7_first_party_with_allow_all_needs_no_grant(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(social, third_party=False, app_type="regular_web")
    assert await _token_scope(client, app.client_id, app.callback, "read:posts", app.secret) == "read:posts"


async def test_T8_default_grant_gives_default_scopes_and_ceiling_drops_the_rest(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True, scope=["read:posts"])
    verifier, challenge = pkce_pair()
    step = await authorize(client, _params(app.client_id, app.callback, challenge))
    step = await login(client, step, "alice@example.com", PASSWORD)
    assert step.on_consent
    assert "Posts: read your posts" in step.text and "write" not in step.text.split("It will be able to")[1]
    step = await consent(client, step)
    r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier)
    assert r.json()["scope"] == "read:posts"


async def test_T8_per_application_grant_replaces_the_default(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True, scope=["read:posts"])
    await grant(social, client_id=app.client_id, scope=["write:posts"])
    assert await _token_scope(client, app.client_id, app.callback, "read:posts write:posts") == "write:posts"


async def test_T8_default_grant_does_not_apply_to_first_party(client: httpx.AsyncClient, social: Runtime) -> None:
    policy = {"user": {"policy": "require_client_grant"}}
    await make_api(social, "https://strict.example.com", subject_type_authorization=policy)
    app = await make_app(social, third_party=False)
    await grant(social, default=True, audience="https://strict.example.com", scope=["read:posts"])
    verifier, challenge = pkce_pair()
    step = await authorize(
        client,
        {**_params(app.client_id, app.callback, challenge, "read:posts"), "audience": "https://strict.example.com"},
    )
    assert step.params["error"] == "access_denied"


async def test_T6_third_party_login_needs_a_domain_level_connection(client: httpx.AsyncClient, social: Runtime) -> None:
    await promote_default_connection(social, domain_level=False)
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    _, challenge = pkce_pair()
    step = await authorize(client, _params(app.client_id, app.callback, challenge))
    assert step.callback is None and not step.on_login
    assert step.response.status_code == 403 and "domain-level" in step.text


async def test_T3_third_party_request_without_pkce_is_refused(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(social, third_party=True, redirection_policy="allow_always")
    await grant(social, default=True)
    params = _params(app.client_id, app.callback, "x")
    del params["code_challenge"], params["code_challenge_method"]
    step = await authorize(client, params)
    assert step.params["error"] == "invalid_request" and "code_challenge" in step.params["error_description"]
    plain = {**_params(app.client_id, app.callback, "x" * 43), "code_challenge_method": "plain"}
    assert (await authorize(client, plain)).params["error"] == "invalid_request"


async def test_T4_third_party_cannot_use_password_grant_or_the_management_api(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    app = await make_app(social, third_party=True, app_type="regular_web", grant_types=["client_credentials"])
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "alice@example.com",
            "password": PASSWORD,
            "client_id": app.client_id,
            "client_secret": app.secret,
        },
    )
    assert r.status_code == 403 and r.json()["error"] == "unauthorized_client"
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.secret,
            "audience": social.settings.management_audience,
        },
    )
    assert r.status_code == 403 and r.json()["error"] == "access_denied"


async def test_T4_third_party_client_credentials_with_own_client_grant(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    app = await make_app(social, third_party=True, app_type="regular_web", grant_types=["client_credentials"])
    await grant(social, client_id=app.client_id, subject_type="client", scope=["read:posts"])
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.secret,
            "audience": API,
        },
    )
    assert r.status_code == 200, r.text
    assert jwt.decode(r.json()["access_token"], options={"verify_signature": False})["scope"] == "read:posts"


async def test_unknown_client_and_unregistered_redirect_never_redirect(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    app = await make_app(social, third_party=False)
    for params in (
        {"client_id": "nope", "redirect_uri": "https://evil.example/cb", "response_type": "code"},
        {"client_id": app.client_id, "redirect_uri": "https://evil.example/cb", "response_type": "code"},
        {"client_id": app.client_id, "redirect_uri": app.callback + "/", "response_type": "code"},
    ):
        step = await authorize(client, params)
        assert step.callback is None and step.response.status_code == 400
        assert "location" not in step.response.headers


async def test_unknown_audience_is_invalid_target(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(social, third_party=False)
    _, challenge = pkce_pair()
    step = await authorize(client, {**_params(app.client_id, app.callback, challenge), "audience": "https://nope/"})
    assert step.params["error"] == "invalid_target"
    params = {**_params(app.client_id, app.callback, challenge), "resource": "https://other/"}
    del params["audience"]  # with both, audience wins (test_resource_indicators.py)
    step = await authorize(client, params)
    assert step.params["error"] == "invalid_target"
