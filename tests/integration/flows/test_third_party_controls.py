"""Auth0's documented security controls for third-party apps (issue 18), over HTTP on both databases."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from consentry.runtime import Runtime
from consentry.storage.models import Client, ClientGrant
from consentry.tokens import ids
from tests.integration.flows.conftest import API, PASSWORD, grant, make_app
from tests.support.flow import authorize, login, pkce_pair

REFUSED = ("claims", "id_token_hint", "invitation", "login_ticket", "request", "request_uri", "screen_hint")
VALUES = {
    "claims": '{"id_token":{"email":null}}',
    "id_token_hint": "eyJ.x.y",
    "invitation": "inv_1",
    "login_ticket": "lt_1",
    "request": "eyJ.x.y",
    "request_uri": "urn:ietf:params:oauth:request_uri:1",
    "screen_hint": "signup",
}


def _params(app_id: str, callback: str, challenge: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": app_id,
        "redirect_uri": callback,
        "response_type": "code",
        "scope": "read:posts",
        "audience": API,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s1",
        **extra,
    }


@pytest.mark.parametrize("name", REFUSED)
async def test_third_party_refused_parameter_gets_an_error_page(
    client: httpx.AsyncClient, social: Runtime, name: str
) -> None:
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    _, challenge = pkce_pair()
    step = await authorize(client, _params(app.client_id, app.callback, challenge, **{name: VALUES[name]}))
    assert step.callback is None, "open_redirect_protection: an error page, never a redirect"
    assert step.response.status_code == 400
    assert "invalid_request" in step.page and f"Parameter &#39;{name}&#39; is not supported" in step.page


@pytest.mark.parametrize("name", REFUSED)
async def test_third_party_refused_parameter_with_allow_always_is_invalid_request_at_the_callback(
    client: httpx.AsyncClient, social: Runtime, name: str
) -> None:
    app = await make_app(social, third_party=True, redirection_policy="allow_always")
    await grant(social, default=True)
    _, challenge = pkce_pair()
    step = await authorize(client, _params(app.client_id, app.callback, challenge, **{name: VALUES[name]}))
    assert step.params["error"] == "invalid_request"
    assert step.params["error_description"] == f"Parameter '{name}' is not supported for third-party applications."
    assert step.params["state"] == "s1" and step.params["iss"] == "http://testserver/"


async def test_first_party_may_send_the_same_parameters(client: httpx.AsyncClient, social: Runtime) -> None:
    """First-party apps are not affected: the request goes on to the login page."""
    app = await make_app(social, third_party=False)
    _, challenge = pkce_pair()
    allowed = {k: VALUES[k] for k in ("claims", "id_token_hint", "invitation", "login_ticket", "screen_hint")}
    step = await authorize(client, _params(app.client_id, app.callback, challenge, **allowed))
    assert step.on_login, step.page[:300]


async def test_refused_parameter_is_checked_before_login(client: httpx.AsyncClient, social: Runtime) -> None:
    """The refusal does not depend on a session: a signed-in user gets the same error page."""
    app = await make_app(social, third_party=True)
    await grant(social, default=True)
    _, challenge = pkce_pair()
    step = await authorize(client, _params(app.client_id, app.callback, challenge))
    await login(client, step, "alice@example.com", PASSWORD)
    step = await authorize(client, _params(app.client_id, app.callback, challenge, screen_hint="signup"))
    assert step.callback is None and step.response.status_code == 400


# Item 2: system APIs (the Management API) are never reachable by third-party apps, whatever a grant says.


async def _force_grant(rt: Runtime, *, client_id: str | None, subject_type: str) -> None:
    """A grant the services would refuse, written straight to the table (as a bad import or old data could)."""
    async with rt.db.transaction() as s:
        s.add(
            ClientGrant(
                id=ids.prefixed("cgr"),
                client_id=client_id,
                default_for=None if client_id else "third_party_clients",
                audience=rt.settings.management_audience,
                scope=["read:users"],
                allow_all_scopes=False,
                subject_type=subject_type,
                is_system=False,
                attributes={},
                created_at=rt.clock.now(),
            )
        )
    rt.catalog.invalidate()


@pytest.mark.parametrize("default", [False, True], ids=["own-grant", "default-grant"])
async def test_management_api_refused_at_authorize_whatever_the_grant(
    client: httpx.AsyncClient, social: Runtime, default: bool
) -> None:
    app = await make_app(social, third_party=True, redirection_policy="allow_always")
    await _force_grant(social, client_id=None if default else app.client_id, subject_type="user")
    _, challenge = pkce_pair()
    params = {
        **_params(app.client_id, app.callback, challenge, scope="read:users"),
        "audience": social.settings.management_audience,
    }
    step = await authorize(client, params)
    assert step.params["error"] == "access_denied"
    assert "third-party applications cannot access" in step.params["error_description"]


async def test_management_api_refused_at_token_whatever_the_grant(client: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(social, third_party=True, app_type="regular_web", grant_types=["client_credentials"])
    await _force_grant(social, client_id=app.client_id, subject_type="client")
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
    assert "third-party applications cannot access" in r.json()["error_description"]


async def test_management_api_grants_refused_for_third_party_apps(mgmt: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(social, third_party=True, app_type="regular_web")
    audience = social.settings.management_audience
    r = await mgmt.post(
        "/api/v2/client-grants", json={"client_id": app.client_id, "audience": audience, "scope": ["read:users"]}
    )
    assert r.status_code == 403 and r.json()["errorCode"] == "operation_not_supported"
    r = await mgmt.post(
        "/api/v2/client-grants",
        json={
            "default_for": "third_party_clients",
            "audience": audience,
            "scope": ["read:users"],
            "subject_type": "user",
        },
    )
    assert r.status_code == 400 and "Management API" in r.json()["message"]
    r = await mgmt.get("/api/v2/client-grants", params={"audience": audience})
    assert all(g.get("client_id") != app.client_id and "default_for" not in g for g in r.json())


# Item 3: client_credentials never for DCR or CIMD clients, only for confidential apps the administrator created.


@pytest.mark.parametrize("registration_type", ["dcr", "cimd"])
async def test_self_registered_client_never_gets_client_credentials(
    client: httpx.AsyncClient, social: Runtime, registration_type: str
) -> None:
    """Even with client_credentials in its stored grant types and a client grant, the token endpoint refuses."""
    app = await make_app(
        social, third_party=True, app_type="regular_web", grant_types=["authorization_code", "client_credentials"]
    )
    await grant(social, client_id=app.client_id, subject_type="client", scope=["read:posts"])
    async with social.db.transaction() as s:
        await s.execute(
            update(Client).where(Client.client_id == app.client_id).values(registration_type=registration_type)
        )
    social.catalog.invalidate()
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.secret,
            "audience": API,
        },
    )
    assert r.status_code == 403, r.text
    assert r.json() == {
        "error": "unauthorized_client",
        "error_description": "Grant type 'client_credentials' is not available to dynamically registered applications.",
    }


async def test_admin_created_third_party_app_keeps_client_credentials(
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


async def test_client_credentials_cannot_be_added_to_a_dcr_client(mgmt: httpx.AsyncClient, social: Runtime) -> None:
    app = await make_app(social, third_party=True, app_type="regular_web")
    async with social.db.transaction() as s:
        await s.execute(update(Client).where(Client.client_id == app.client_id).values(registration_type="dcr"))
    r = await mgmt.patch(f"/api/v2/clients/{app.client_id}", json={"grant_types": ["client_credentials"]})
    assert r.status_code == 400
    assert r.json()["message"] == (
        "Grant type 'client_credentials' is not allowed for dynamically registered applications."
    )


# Item 8: the RFC 9207 ``iss`` toggle.


async def test_iss_in_authorization_responses_follows_the_tenant_setting(
    client: httpx.AsyncClient, social: Runtime, mgmt: httpx.AsyncClient
) -> None:
    app = await make_app(social, third_party=True, redirection_policy="allow_always")
    await grant(social, default=True)
    _, challenge = pkce_pair()
    params = _params(app.client_id, app.callback, challenge, screen_hint="signup")
    assert (await authorize(client, params)).params["iss"] == "http://testserver/"
    doc = (await client.get("/.well-known/openid-configuration")).json()
    assert doc["authorization_response_iss_parameter_supported"] is True
    r = await mgmt.patch("/api/v2/tenants/settings", json={"authorization_response_iss_parameter_supported": False})
    assert r.status_code == 200, r.text
    step = await authorize(client, params)
    assert step.params["error"] == "invalid_request" and "iss" not in step.params
    doc = (await client.get("/.well-known/openid-configuration")).json()
    assert doc["authorization_response_iss_parameter_supported"] is False
