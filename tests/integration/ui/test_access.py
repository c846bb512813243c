"""Who may see the pages: sign-in redirects, the dashboard role (403), CSRF, security headers."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from consentry.admin.guard import csrf_token
from consentry.runtime import Runtime
from consentry.storage.models import Client, LoginSession, ResourceServer
from tests.conftest import ISSUER
from tests.integration.ui.conftest import Browser, csrf_of, text_of

SECTIONS = [
    "/admin",
    "/admin/applications",
    "/admin/applications/new",
    "/admin/apis",
    "/admin/apis/new",
    "/admin/client-grants",
    "/admin/connections",
    "/admin/users",
    "/admin/users/new",
    "/admin/settings",
    "/admin/registrations",
    "/admin/registrations?status=pending",
    "/admin/logs",
    "/admin/webhooks",
    "/admin/webhooks/new",
]


@pytest.mark.parametrize(
    ("path", "next_path"), [("/admin", "%2Fadmin"), ("/admin/apis", "%2Fadmin"), ("/u/apps", "%2Fu%2Fapps")]
)
async def test_pages_send_a_signed_out_browser_to_the_login(
    runtime: Runtime, browser: Browser, path: str, next_path: str
) -> None:
    r = await browser().get(path)
    assert r.status_code == 303
    assert r.headers["location"] == f"{ISSUER}u/login?next={next_path}"


async def test_a_post_without_a_session_is_refused(runtime: Runtime, browser: Browser) -> None:
    r = await browser().post("/admin/apis/new", data={"identifier": "https://x.example.com"})
    assert r.status_code == 401 and "Your session has ended" in r.text
    r = await browser().post("/u/apps/revoke", data={"client_id": "x"})
    assert r.status_code == 401


async def test_a_user_without_the_dashboard_role_gets_403(alice: httpx.AsyncClient, runtime: Runtime) -> None:
    for path in ("/admin", "/admin/applications", "/admin/users"):
        r = await alice.get(path)
        assert r.status_code == 403, path
        assert "alice@example.com, who is not a dashboard administrator" in text_of(r.text)
    r = await alice.post("/admin/apis/new", data={"identifier": "https://x.example.com", "csrf": "x"})
    assert r.status_code == 403
    async with runtime.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(ResourceServer)) == 1  # the Management API only
    assert (await alice.get("/u/apps")).status_code == 200  # their own page still works


async def test_every_section_renders_with_page_security_headers(admin: httpx.AsyncClient) -> None:
    for path in SECTIONS:
        r = await admin.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store"
        assert "style=" not in r.text and "<script" not in r.text, path  # CSP: style-src 'self', no scripts
        assert 'aria-current="page"' in r.text


async def test_csrf_token_is_required_and_bound_to_the_session(
    admin: httpx.AsyncClient, alice: httpx.AsyncClient, runtime: Runtime, admin_ids: dict[str, str]
) -> None:
    form = {
        "identifier": "https://social.example.com",
        "name": "Social API",
        "user_policy": "allow_all",
        "client_policy": "require_client_grant",
        "token_dialect": "rfc9068_profile",
    }
    async with runtime.db.read() as s:
        sid = await s.scalar(select(LoginSession.id).where(LoginSession.user_id == admin_ids["user"]))
    alice_token = csrf_token(runtime, sid)
    admin_token = csrf_of((await admin.get("/admin/apis/new")).text)
    assert alice_token != admin_token
    for data in (form, {**form, "csrf": ""}, {**form, "csrf": "0" * 64}, {**form, "csrf": alice_token}):
        r = await admin.post("/admin/apis/new", data=data)
        assert r.status_code == 403 and "CSRF check failed" in text_of(r.text)
    async with runtime.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(ResourceServer)) == 1
    r = await admin.post("/admin/apis/new", data={**form, "csrf": admin_token})
    assert r.status_code == 303


async def test_a_new_login_gets_a_new_csrf_token(browser: Browser, admin: httpx.AsyncClient) -> None:
    from tests.integration.ui.conftest import ADMIN_EMAIL, sign_in

    before = csrf_of((await admin.get("/admin/settings")).text)
    again = browser()
    await sign_in(again, ADMIN_EMAIL, "/admin")
    after = csrf_of((await again.get("/admin/settings")).text)
    assert before != after
    r = await again.post("/admin/settings", data={"csrf": before})
    assert r.status_code == 403


async def test_applications_whose_client_id_is_a_url_have_pages(admin: httpx.AsyncClient, runtime: Runtime) -> None:
    """Client ID Metadata Document clients are named by an https URL: the pages take it as a path."""
    client_id = "https://agent.example.com/oauth/client.json"
    now = runtime.clock.now()
    async with runtime.db.transaction() as s:
        s.add(
            Client(
                client_id=client_id,
                name="Agent",
                app_type="native",
                is_first_party=False,
                third_party_security_mode="strict",
                redirection_policy="open_redirect_protection",
                token_endpoint_auth_method="none",
                callbacks=["http://127.0.0.1/cb"],
                grant_types=[],
                registration_type="cimd",
                attributes={"metadata_url_host": "agent.example.com"},
                created_at=now,
                updated_at=now,
            )
        )
    page = await admin.get(f"/admin/applications/{client_id}")
    assert page.status_code == 200 and "Verified domain: agent.example.com" in text_of(page.text)
    r = await admin.post(f"/admin/applications/{client_id}/delete", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303
    assert (await admin.get(f"/admin/applications/{client_id}")).status_code == 404


async def test_applications_are_paged(admin: httpx.AsyncClient, runtime: Runtime) -> None:
    now = runtime.clock.now()
    async with runtime.db.transaction() as s:
        for i in range(51):
            s.add(
                Client(
                    client_id=f"app{i:03d}",
                    name=f"App {i:03d}",
                    app_type="spa",
                    is_first_party=True,
                    token_endpoint_auth_method="none",
                    registration_type="admin",
                    created_at=now + i,
                    updated_at=now,
                )
            )
    first = text_of((await admin.get("/admin/applications")).text)
    assert "App 049" in first and "App 050" not in first and "Next page" in first
    second = text_of((await admin.get("/admin/applications", params={"page": 1})).text)
    assert "App 050" in second and "Previous page" in second and "Page 2 of 2" in second


async def test_unknown_objects_are_html_404_pages(admin: httpx.AsyncClient) -> None:
    for path in (
        "/admin/applications/nope",
        "/admin/apis/nope",
        "/admin/users/auth0%7Cnope",
        "/admin/applications/nope/grants/new?audience=x",
    ):
        r = await admin.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html") and "does not exist" in r.text
