"""The consent screen and the user grant ledger (SPEC C3–C11, per-scope consent, hostile input)."""

from __future__ import annotations

import httpx
import jwt
from sqlalchemy import select, update

from consentry.commands.resource_servers import ScopeIn
from consentry.runtime import Runtime
from consentry.storage.models import Tenant, UserGrant
from tests.conftest import ISSUER
from tests.integration.flows.conftest import API, PASSWORD, grant, make_api, make_app
from tests.support.flow import authorize, consent, exchange, hidden, login, pkce_pair


def _params(app_id: str, callback: str, challenge: str, scope: str = "read:posts write:posts", **extra: str) -> dict:
    return {
        "client_id": app_id,
        "redirect_uri": callback,
        "response_type": "code",
        "scope": scope,
        "audience": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "xyz",
        **extra,
    }


async def _set_flags(rt: Runtime, **flags: bool) -> None:
    async with rt.db.transaction() as s:
        await s.execute(update(Tenant).where(Tenant.id == 1).values(settings={"flags": flags}))
    rt.catalog.invalidate()


async def _logged_in_consent(client: httpx.AsyncClient, params: dict) -> object:
    step = await authorize(client, params)
    if step.on_login:
        step = await login(client, step, "alice@example.com", PASSWORD)
    return step


async def test_C3_step_up_asks_only_for_the_difference(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    _, challenge = pkce_pair()
    step = await _logged_in_consent(client, _params(app.client_id, app.callback, challenge, "read:posts"))
    step = await consent(client, step)
    assert "code" in step.params
    step = await authorize(client, _params(app.client_id, app.callback, challenge, "read:posts write:posts"))
    assert step.on_consent
    asked = step.text.split("It will be able to")[1].split("Already allowed")[0]
    assert "Posts: write your posts" in asked and "read" not in asked
    assert "Already allowed" in step.text and "Posts: read your posts" in step.text


async def test_C4_identity_scopes_are_dropped_for_strict_third_party_apps(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    verifier, challenge = pkce_pair()
    params = _params(app.client_id, app.callback, challenge, "openid profile email read:posts")
    step = await _logged_in_consent(client, params)
    assert step.on_consent and "Your profile" not in step.text and "Your email" not in step.text
    step = await consent(client, step)
    r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier)
    assert r.json()["scope"] == "read:posts" and "id_token" not in r.json()


async def test_C4_identity_flag_lists_identity_and_gives_pairwise_sub(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    await _set_flags(social, third_party_oidc_identity=True)
    await grant(social, default=True)
    subs = []
    for _ in range(2):
        app = await make_app(social, third_party=True)
        verifier, challenge = pkce_pair()
        step = await _logged_in_consent(
            client, _params(app.client_id, app.callback, challenge, "openid profile read:posts", nonce="n-1")
        )
        assert "Your identity" in step.text and "Your profile" in step.text
        step = await consent(client, step)
        tokens = (await exchange(client, step.params["code"], app.client_id, app.callback, verifier)).json()
        id_token = jwt.decode(tokens["id_token"], options={"verify_signature": False})
        access = jwt.decode(tokens["access_token"], options={"verify_signature": False})
        assert id_token["sub"] == access["sub"] and id_token["nonce"] == "n-1" and id_token["aud"] == app.client_id
        subs.append(id_token["sub"])
    assert subs[0] != subs[1] and not subs[0].startswith("auth0|")


async def test_C5_descriptions_flag_shows_scope_descriptions(client: httpx.AsyncClient, social: Runtime) -> None:
    await _set_flags(social, use_scope_descriptions_for_consent=True)
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    _, challenge = pkce_pair()
    step = await _logged_in_consent(client, _params(app.client_id, app.callback, challenge))
    assert "Read your posts" in step.text and "Publish posts for you" in step.text
    assert "Posts: read and write your posts" not in step.text


async def test_C6_decline_with_open_redirect_protection_shows_a_page(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    _, challenge = pkce_pair()
    page = await _logged_in_consent(client, _params(app.client_id, app.callback, challenge))
    step = await consent(client, page, "deny")
    assert step.callback is None and step.response.status_code == 403
    assert "access_denied" in step.page
    grants = await _grants(social, app.client_id)
    assert grants == []


async def test_C6_decline_with_allow_always_redirects_with_access_denied(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    app = await make_app(social, third_party=True, redirection_policy="allow_always")
    await grant(social, default=True)
    _, challenge = pkce_pair()
    page = await _logged_in_consent(client, _params(app.client_id, app.callback, challenge))
    step = await consent(client, page, "deny")
    assert step.response.status_code == 302
    assert step.params["error"] == "access_denied" and step.params["state"] == "xyz" and step.params["iss"] == ISSUER
    assert step.callback.startswith(app.callback + "?")


async def test_C7_first_party_skips_consent_when_the_api_allows_it(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(social, third_party=False)
    _, challenge = pkce_pair()
    step = await _logged_in_consent(client, _params(app.client_id, app.callback, challenge))
    assert "code" in step.params


async def test_C7_loopback_callback_gets_a_login_confirmation(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(social, third_party=False, callback="http://127.0.0.1:5555/callback")
    _, challenge = pkce_pair()
    params = _params(app.client_id, app.callback, challenge)
    step = await _logged_in_consent(client, params)
    assert step.on_consent and "127.0.0.1:5555" in step.text and "Continue only if you started" in step.text
    step = await consent(client, step)
    assert "code" in step.params
    silent = await authorize(client, {**params, "prompt": "none"})
    assert silent.params["error"] == "consent_required"


async def test_C7_confirmation_can_be_turned_off_per_client(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(
        social,
        third_party=False,
        callback="com.example.app:/cb",
        skip_non_verifiable_callback_uri_confirmation_prompt=True,
        app_type="native",
    )
    _, challenge = pkce_pair()
    step = await _logged_in_consent(client, _params(app.client_id, app.callback, challenge))
    assert "code" in step.params


async def test_C7_first_party_consent_when_the_api_does_not_allow_skipping(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    await make_api(social, "https://noskip.example.com", skip_consent_for_verifiable_first_party_clients=False)
    app = await make_app(social, third_party=False)
    _, challenge = pkce_pair()
    step = await _logged_in_consent(
        client, {**_params(app.client_id, app.callback, challenge), "audience": "https://noskip.example.com"}
    )
    assert step.on_consent and "First-party application" in step.text


async def test_C9_password_grant_needs_no_consent(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(
        social, third_party=False, app_type="regular_web", grant_types=["password", "authorization_code"]
    )
    r = await client.post(
        "/oauth/token",
        json={
            "grant_type": "password",
            "username": "alice@example.com",
            "password": PASSWORD,
            "client_id": app.client_id,
            "client_secret": app.secret,
            "audience": API,
            "scope": "openid read:posts",
            "realm": None,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "openid read:posts" and "id_token" in r.json()
    bad = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "alice@example.com",
            "password": "wrong-password",
            "client_id": app.client_id,
            "client_secret": app.secret,
        },
    )
    assert bad.status_code == 403
    assert bad.json() == {"error": "invalid_grant", "error_description": "Wrong email or password."}


async def test_C11_prompt_none_without_session(client: httpx.AsyncClient, social: Runtime) -> None:
    first = await make_app(social, third_party=False)
    _, challenge = pkce_pair()
    step = await authorize(client, _params(first.client_id, first.callback, challenge, prompt="none"))
    assert step.params["error"] == "login_required" and step.params["iss"] == ISSUER and step.params["state"] == "xyz"
    third = await make_app(social, third_party=True)
    await grant(social, default=True)
    step = await authorize(client, _params(third.client_id, third.callback, challenge, prompt="none"))
    assert step.callback is None and "login_required" in step.page  # open_redirect_protection: a page


async def test_C11_prompt_none_with_session_but_no_grant_is_consent_required(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    app = await make_app(social, third_party=True, redirection_policy="allow_always")
    await grant(social, default=True)
    _, challenge = pkce_pair()
    await _logged_in_consent(client, _params(app.client_id, app.callback, challenge))  # logs in, leaves consent open
    step = await authorize(client, _params(app.client_id, app.callback, challenge, prompt="none"))
    assert step.params["error"] == "consent_required"


async def test_per_scope_consent_unticked_optional_scope_is_not_granted(
    client: httpx.AsyncClient, social: Runtime
) -> None:
    scopes = [ScopeIn(value="read:notes"), ScopeIn(value="delete:notes", optional=True)]
    await make_api(social, "https://notes.example.com", scopes=scopes)
    app = await make_app(social, third_party=True)
    await grant(social, default=True, audience="https://notes.example.com", scope=["read:notes", "delete:notes"])
    verifier, challenge = pkce_pair()
    params = _params(app.client_id, app.callback, challenge, "read:notes delete:notes")
    step = await _logged_in_consent(client, {**params, "audience": "https://notes.example.com"})
    assert 'name="optional"' in step.page and "(optional)" in step.text
    step = await consent(client, step, optional=[])
    r = await exchange(client, step.params["code"], app.client_id, app.callback, verifier)
    assert r.json()["scope"] == "read:notes"


async def test_consent_form_rejects_tampering_and_replay(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    _, challenge = pkce_pair()
    step = await _logged_in_consent(client, _params(app.client_id, app.callback, challenge))
    state = hidden(step.page, "state")
    bad_csrf = await client.post("/u/consent", data={"state": state, "csrf": "forged", "action": "accept"})
    assert bad_csrf.status_code == 403
    unknown = await client.post("/u/consent", data={"state": "nope", "csrf": "x", "action": "accept"})
    assert unknown.status_code == 400
    weird = await client.post("/u/consent", data={"state": state, "csrf": hidden(step.page, "csrf"), "action": "maybe"})
    assert weird.status_code == 400
    assert await _grants(social, app.client_id) == []
    done = await consent(client, step)
    assert "code" in done.params
    form = {"state": state, "csrf": hidden(step.page, "csrf"), "action": "accept"}
    replay = await client.post("/u/consent", data=form)
    assert replay.status_code == 400
    assert (await client.get("/u/consent", params={"state": state})).status_code == 400


async def _grants(rt: Runtime, client_id: str) -> list[UserGrant]:
    async with rt.db.read() as s:
        return list((await s.scalars(select(UserGrant).where(UserGrant.client_id == client_id))).all())
