"""Hostile input on the Authentication API, one table per family (redirects, PKCE, codes, audiences).

Every row names the attack; the expected result is the exact answer on the wire. The other families
are in ``test_attacks_jwt.py``, ``test_attacks_input.py`` and ``test_attacks_session.py``.
"""

from __future__ import annotations

import httpx
import jwt
import pytest
from sqlalchemy import update

from consentry.storage.models import AuthorizationCode
from consentry.tokens import ids
from tests.integration.flows.conftest import API
from tests.security.conftest import (
    CALLBACK,
    LOOPBACK,
    SQLITE_ONLY,
    World,
    get_code,
    get_tokens,
    no_redirect,
    params,
)
from tests.support.flow import authorize, exchange, pkce_pair, query

pytestmark = pytest.mark.attack

# --- open redirects: an unregistered redirect_uri gets an error page, never a redirect -----------------------------

OPEN_REDIRECT = [
    pytest.param("tp_open", "https://PARTNER.example.com/callback", id="case_of_host"),
    pytest.param("tp_open", "HTTPS://partner.example.com/callback", id="case_of_scheme"),
    pytest.param("tp_open", "https://partner.example.com/Callback", id="case_of_path"),
    pytest.param("tp_open", CALLBACK + "/", id="trailing_slash"),
    pytest.param("tp_open", "https://partner.example.com/callback/..", id="dot_segment"),
    pytest.param("tp_open", "https://partner.example.com/callback/../evil", id="path_traversal"),
    pytest.param("tp_open", CALLBACK + "?next=https://evil.example", id="extra_query"),
    pytest.param("tp_open", CALLBACK + "#@evil.example", id="fragment"),
    pytest.param("tp_open", CALLBACK + "#", id="empty_fragment"),
    pytest.param("tp_open", "https://partner.example.com@evil.example/callback", id="userinfo_registered_host"),
    pytest.param("tp_open", "https://evil.example@partner.example.com/callback", id="userinfo_attacker_name"),
    pytest.param("tp_open", "https://partner.example.com%2F@evil.example/callback", id="encoded_slash_userinfo"),
    pytest.param("tp_open", "https://partner.example.com/%63allback", id="percent_encoded_path"),
    pytest.param("tp_open", "https://partner.example.com/callback%2F..%2F..%2Fevil", id="encoded_traversal"),
    pytest.param("tp_open", "https://partner.example.com\\@evil.example/callback", id="backslash_userinfo"),
    pytest.param("tp_open", "https://partner.example.com.evil.example/callback", id="registered_host_as_prefix"),
    pytest.param("tp_open", "https://evil.partner.example.com/callback", id="subdomain"),
    pytest.param("tp_open", "https://partner.example.com:443/callback", id="explicit_default_port"),
    pytest.param("tp_open", "http://partner.example.com/callback", id="scheme_downgrade"),
    pytest.param("tp_open", "https://p\u0430rtner.example.com/callback", id="idn_homograph_cyrillic_a"),
    pytest.param("tp_open", "https://xn--prtner-2wf.example.com/callback", id="idn_punycode"),
    pytest.param("tp_open", "https://partner.example.com/callback\u200b", id="zero_width_space"),
    pytest.param("tp_open", " " + CALLBACK, id="leading_space"),
    pytest.param("tp_open", CALLBACK + "\r\nLocation: https://evil.example", id="crlf"),
    pytest.param("tp_open", "javascript:alert(document.domain)//", id="javascript_scheme"),
    pytest.param("tp_open", "//evil.example/callback", id="scheme_relative"),
    pytest.param("tp_open", "https://evil.example/callback", id="other_host"),
    pytest.param("native", "http://127.0.0.1:9999/cb", id="loopback_other_port"),
    pytest.param("native", "http://localhost:8080/cb", id="loopback_localhost_for_ip"),
    pytest.param("native", "http://[::1]:8080/cb", id="loopback_ipv6_for_ipv4"),
    pytest.param("native", "http://127.0.0.1:8080/cb/../../evil", id="loopback_path_traversal"),
    pytest.param("native", "http://127.0.0.1:8080@evil.example/cb", id="loopback_userinfo"),
    pytest.param("spa", "https://evil.example/callback", id="third_party_other_host"),
    pytest.param("web", "https://other.example.com/cb", id="another_apps_callback"),
]


@pytest.mark.parametrize(("app_name", "redirect_uri"), OPEN_REDIRECT)
@SQLITE_ONLY
async def test_open_redirect(client: httpx.AsyncClient, world: World, app_name: str, redirect_uri: str) -> None:
    app = getattr(world, app_name)
    _, challenge = pkce_pair()
    r = await client.get("/authorize", params={**params(app, challenge), "redirect_uri": redirect_uri})
    assert r.status_code == 400
    no_redirect(r)
    assert "callback URL mismatch" in r.text


@SQLITE_ONLY
async def test_open_redirect_control_registered_uris_are_accepted(client: httpx.AsyncClient, world: World) -> None:
    """The rows above fail for the URI alone: the registered one goes on to the login page."""
    _, challenge = pkce_pair()
    for app, uri in ((world.tp_open, CALLBACK), (world.native, LOOPBACK)):
        r = await client.get("/authorize", params={**params(app, challenge), "redirect_uri": uri})
        assert r.status_code == 302 and r.headers["location"].startswith("http://testserver/u/login?")


OTHER_REDIRECTS = [
    pytest.param(
        "/authorize?client_id=nope&redirect_uri=https://evil.example/cb&response_type=code", id="unknown_client"
    ),
    pytest.param("/authorize?redirect_uri=https://evil.example/cb&response_type=code", id="missing_client_id"),
    pytest.param("/v2/logout?returnTo=https://evil.example/", id="logout_returnTo_without_client"),
    pytest.param("/v2/logout?client_id={web}&returnTo=https://evil.example/", id="logout_returnTo_not_allowed"),
    pytest.param("/v2/logout?client_id={web}&returnTo=https://partner.example.com/bye/", id="logout_returnTo_suffix"),
    pytest.param(
        "/v2/logout?client_id={web}&returnTo=https://partner.example.com/bye@evil.example",
        id="logout_returnTo_userinfo_trick",
    ),
    pytest.param("/v2/logout?client_id=nope&returnTo=https://evil.example/", id="logout_unknown_client"),
    pytest.param(
        "/oidc/logout?client_id={web}&post_logout_redirect_uri=https://evil.example/", id="oidc_logout_not_allowed"
    ),
    pytest.param("/oidc/logout?post_logout_redirect_uri=https://evil.example/", id="oidc_logout_without_client"),
    pytest.param(
        "/oidc/logout?id_token_hint=e30.e30.&post_logout_redirect_uri=https://evil.example/",
        id="oidc_logout_forged_hint",
    ),
]


@pytest.mark.parametrize("url", OTHER_REDIRECTS)
@SQLITE_ONLY
async def test_open_redirect_elsewhere(client: httpx.AsyncClient, world: World, url: str) -> None:
    r = await client.get(url.format(web=world.web.client_id))
    assert r.status_code == 400
    no_redirect(r)


LOGIN_NEXT = [
    pytest.param("https://evil.example/", id="absolute_url"),
    pytest.param("//evil.example/admin", id="scheme_relative"),
    pytest.param("/\\evil.example/admin", id="backslash"),
    pytest.param("/admin/../../evil", id="dot_segments"),
    pytest.param("/u/apps//evil.example", id="double_slash_inside"),
    pytest.param("https://evil.example/u/apps", id="absolute_with_local_path"),
]


@pytest.mark.parametrize("next_url", LOGIN_NEXT)
@SQLITE_ONLY
async def test_open_redirect_after_login(client: httpx.AsyncClient, world: World, next_url: str) -> None:
    from tests.integration.flows.conftest import PASSWORD
    from tests.support.flow import Step, hidden

    page = await client.get("/u/login", params={"next": next_url})
    assert page.status_code == 200
    form = {
        "state": hidden(page.text, "state"),
        "csrf": hidden(page.text, "csrf"),
        "username": "alice@example.com",
        "password": PASSWORD,
    }
    r = await client.post("/u/login", data=form)
    assert r.status_code == 303
    assert r.headers["location"] == "http://testserver/u/apps", "a hostile next falls back to the default page"
    assert Step(r).callback is None


# --- PKCE downgrade ------------------------------------------------------------------------------------------------

CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
PKCE_AUTHORIZE = [
    pytest.param("tp_open", {}, "code_challenge is required", id="third_party_without_challenge"),
    pytest.param("fp_spa", {}, "code_challenge is required", id="public_client_without_challenge"),
    pytest.param(
        "tp_open", {"code_challenge": CHALLENGE, "code_challenge_method": "plain"}, "must be S256", id="plain_method"
    ),
    pytest.param("tp_open", {"code_challenge": CHALLENGE}, "must be S256", id="method_omitted_means_plain"),
    pytest.param(
        "tp_open", {"code_challenge": CHALLENGE, "code_challenge_method": "s256"}, "must be S256", id="lowercase_method"
    ),
    pytest.param(
        "tp_open",
        {"code_challenge": CHALLENGE[:42], "code_challenge_method": "S256"},
        "malformed",
        id="challenge_too_short",
    ),
    pytest.param(
        "tp_open",
        {"code_challenge": CHALLENGE[:40] + "+/=", "code_challenge_method": "S256"},
        "malformed",
        id="challenge_not_base64url",
    ),
    pytest.param("tp_open", {"code_challenge_method": "S256"}, "without code_challenge", id="method_without_challenge"),
]


@pytest.mark.parametrize(("app_name", "extra", "hint"), PKCE_AUTHORIZE)
@SQLITE_ONLY
async def test_pkce_downgrade_at_authorize(
    client: httpx.AsyncClient, world: World, app_name: str, extra: dict, hint: str
) -> None:
    app = getattr(world, app_name)
    r = await client.get("/authorize", params={**params(app), **extra})
    assert r.status_code == 302
    sent = query(r.headers["location"])
    assert r.headers["location"].startswith(app.callback + "?")
    assert sent["error"] == "invalid_request" and hint in sent["error_description"]
    assert "code" not in sent


PKCE_TOKEN = [
    pytest.param("spa", "missing", 400, "invalid_request", id="verifier_missing"),
    pytest.param("spa", "wrong", 403, "invalid_grant", id="verifier_wrong"),
    pytest.param("spa", "challenge", 403, "invalid_grant", id="challenge_sent_as_verifier"),
    pytest.param("spa", "short", 403, "invalid_grant", id="verifier_too_short"),
    pytest.param("spa", "padded", 403, "invalid_grant", id="verifier_with_trailing_space"),
    pytest.param("web", "no_challenge_then_verifier", 403, "invalid_grant", id="verifier_without_challenge"),
]


@pytest.mark.parametrize(("app_name", "how", "status", "error"), PKCE_TOKEN)
async def test_pkce_downgrade_at_token(
    client: httpx.AsyncClient, world: World, app_name: str, how: str, status: int, error: str
) -> None:
    app = getattr(world, app_name)
    verifier, challenge = pkce_pair()
    code = await get_code(client, app, None if how == "no_challenge_then_verifier" else challenge)
    sent = {
        "missing": None,
        "wrong": pkce_pair()[0],
        "challenge": challenge,
        "short": verifier[:42],
        "padded": verifier + " ",
        "no_challenge_then_verifier": verifier,
    }[how]
    r = await exchange(client, code, app.client_id, app.callback, sent, app.secret)
    assert (r.status_code, r.json()["error"]) == (status, error)
    assert "access_token" not in r.json()


# --- code injection across clients ---------------------------------------------------------------------------------

CODE_INJECTION = [
    pytest.param("other_client", 403, "invalid_grant", id="code_redeemed_by_another_client"),
    pytest.param("public_client", 403, "invalid_grant", id="code_redeemed_by_a_public_client"),
    pytest.param("no_secret", 401, "invalid_client", id="confidential_code_without_secret"),
    pytest.param("wrong_secret", 401, "invalid_client", id="confidential_code_wrong_secret"),
    pytest.param("basic_other_client", 401, "invalid_client", id="basic_auth_of_another_client"),
    pytest.param("redirect_uri", 403, "invalid_grant", id="different_redirect_uri"),
    pytest.param("resource", 400, "invalid_target", id="different_resource"),
    pytest.param("replay", 403, "invalid_grant", id="replayed_code"),
    pytest.param("expired", 403, "invalid_grant", id="expired_code"),
    pytest.param("forged", 403, "invalid_grant", id="forged_code"),
    pytest.param("as_refresh_token", 403, "invalid_grant", id="code_as_refresh_token"),
]


@pytest.mark.parametrize(("how", "status", "error"), CODE_INJECTION)
async def test_code_injection(client: httpx.AsyncClient, world: World, how: str, status: int, error: str) -> None:
    web, other = world.web, world.other
    verifier, challenge = pkce_pair()
    code = await get_code(client, web, challenge)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": web.callback,
        "code_verifier": verifier,
        "client_id": web.client_id,
        "client_secret": web.secret,
    }
    auth = None
    if how == "other_client":
        data.update(client_id=other.client_id, client_secret=other.secret)
    elif how == "public_client":
        data.update(client_id=world.fp_spa.client_id)
        del data["client_secret"]
    elif how == "no_secret":
        del data["client_secret"]
    elif how == "wrong_secret":
        data["client_secret"] = ids.secret(32)
    elif how == "basic_other_client":
        del data["client_secret"]
        auth = httpx.BasicAuth(other.client_id, other.secret or "")
    elif how == "redirect_uri":
        data["redirect_uri"] = "https://partner.example.com/other"
    elif how == "resource":
        data["resource"] = world.rt.settings.management_audience
    elif how == "replay":
        first = await client.post("/oauth/token", data=data)
        assert first.status_code == 200
        refresh = first.json()["refresh_token"]
    elif how == "expired":
        async with world.rt.db.transaction() as s:
            await s.execute(
                update(AuthorizationCode)
                .where(AuthorizationCode.code_hash == ids.digest(code))
                .values(expires_at=world.rt.clock.now() - 1)
            )
    elif how == "forged":
        data["code"] = ids.secret(32)
    elif how == "as_refresh_token":
        data = {
            "grant_type": "refresh_token",
            "refresh_token": code,
            "client_id": web.client_id,
            "client_secret": web.secret,
        }
    r = await client.post("/oauth/token", data=data, auth=auth)
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    if how == "replay":  # RFC 6749 §4.1.2: tokens issued from a replayed code are revoked
        again = await client.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "client_id": web.client_id,
                "client_secret": web.secret,
            },
        )
        assert again.status_code == 403 and again.json()["error"] == "invalid_grant"
    if how != "expired" and how != "forged" and how != "as_refresh_token" and how != "replay":
        retry = await client.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": web.callback,
                "code_verifier": verifier,
                "client_id": web.client_id,
                "client_secret": web.secret,
            },
        )
        assert retry.status_code == 200, "a failed injection does not burn the victim's code"


# --- token substitution between audiences --------------------------------------------------------------------------

SUBSTITUTION = [
    pytest.param("api_token_at_management", 401, id="api_access_token_at_management_api"),
    pytest.param("id_token_at_management", 401, id="id_token_at_management_api"),
    pytest.param("refresh_token_at_management", 401, id="refresh_token_at_management_api"),
    pytest.param("id_token_at_userinfo", 401, id="id_token_at_userinfo"),
    pytest.param("api_token_without_openid_at_userinfo", 401, id="api_only_token_at_userinfo"),
    pytest.param("management_token_at_userinfo", 401, id="m2m_token_at_userinfo"),
    pytest.param("refresh_of_other_client", 403, id="refresh_token_of_another_client"),
    pytest.param("access_token_as_refresh", 403, id="access_token_as_refresh_token"),
    pytest.param("refresh_other_audience", 400, id="refresh_to_another_audience"),
    pytest.param("refresh_wider_scope", 400, id="refresh_widening_scope"),
    pytest.param("narrow_m2m_scope", 403, id="management_token_without_the_scope"),
]


@pytest.mark.parametrize(("how", "status"), SUBSTITUTION)
async def test_token_substitution(
    client: httpx.AsyncClient, world: World, m2m_credentials: dict[str, str], how: str, status: int
) -> None:
    web = world.web
    tokens = await get_tokens(client, web, scope="openid read:posts offline_access")
    api_only = await get_tokens(client, world.spa)
    bearer = {
        "api_token_at_management": api_only["access_token"],
        "id_token_at_management": tokens["id_token"],
        "refresh_token_at_management": tokens["refresh_token"],
        "id_token_at_userinfo": tokens["id_token"],
        "api_token_without_openid_at_userinfo": api_only["access_token"],
    }
    if how in bearer:
        url = "/userinfo" if how.endswith("userinfo") else "/api/v2/clients"
        r = await client.get(url, headers={"Authorization": f"Bearer {bearer[how]}"})
        assert r.status_code == status, r.text
        body = r.json()
        assert (body.get("errorCode") or body.get("error")) == "invalid_token"
        return
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": web.client_id,
        "client_secret": web.secret,
    }
    if how == "management_token_at_userinfo":
        m2m = await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                **m2m_credentials,
                "audience": world.rt.settings.management_audience,
            },
        )
        r = await client.get("/userinfo", headers={"Authorization": f"Bearer {m2m.json()['access_token']}"})
        assert r.status_code == status and r.json()["error"] == "invalid_token"
        return
    if how == "narrow_m2m_scope":
        narrow = await _narrow_m2m_token(client, world)
        r = await client.post("/api/v2/clients", json={"name": "x"}, headers={"Authorization": f"Bearer {narrow}"})
        assert r.status_code == status and r.json()["errorCode"] == "insufficient_scope"
        return
    if how == "refresh_of_other_client":
        refresh.update(client_id=world.other.client_id, client_secret=world.other.secret)
    elif how == "access_token_as_refresh":
        refresh["refresh_token"] = tokens["access_token"]
    elif how == "refresh_other_audience":
        refresh["audience"] = world.rt.settings.management_audience
    elif how == "refresh_wider_scope":
        refresh["scope"] = "read:posts write:posts"
    r = await client.post("/oauth/token", data=refresh)
    assert r.status_code == status, r.text
    assert "access_token" not in r.json()


async def _narrow_m2m_token(client: httpx.AsyncClient, world: World) -> str:
    from consentry.commands.client_grants import ClientGrantCreate
    from consentry.commands.clients import ClientCreate
    from consentry.services.client_grants import create_client_grant
    from consentry.services.clients import create_client

    rt = world.rt
    async with rt.db.transaction() as s:
        row, secret = await create_client(
            rt, s, ClientCreate(name="reader", app_type="non_interactive", grant_types=["client_credentials"])
        )
        await create_client_grant(
            rt,
            s,
            ClientGrantCreate(
                client_id=row.client_id,
                audience=rt.settings.management_audience,
                scope=["read:clients"],
                subject_type="client",
            ),
        )
    rt.catalog.invalidate()
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": row.client_id,
            "client_secret": secret,
            "audience": rt.settings.management_audience,
        },
    )
    token = str(r.json()["access_token"])
    assert jwt.decode(token, options={"verify_signature": False})["scope"] == "read:clients"
    return token


async def test_code_flow_control(client: httpx.AsyncClient, world: World) -> None:
    """Control for the tables above: the honest flow works end to end."""
    tokens = await get_tokens(client, world.spa)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["aud"] == API and claims["client_id"] == world.spa.client_id
    r = await authorize(client, params(world.spa, pkce_pair()[1]))
    assert r.callback and "code" in r.params
