"""Database signup and password reset as an Auth0 user does them: the node ``auth0`` SDK, real email, Chromium.

An https Consentry (``consentry tls dev-cert``) sends its email to a local SMTP server (aiosmtpd). The node SDK's
``AuthenticationClient.database.signUp`` and ``changePassword`` succeed; the reset email arrives at the SMTP
server; Chromium opens its link and sets a new password; afterwards the old password no longer works at the token
endpoint and the new one does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.interop.harness import PASSWORD, LiveServer, unique
from tests.interop.node_client import NodeScript
from tests.support.smtp import Inbox, link_in, smtp_server

pytestmark = pytest.mark.interop
CONNECTION = "Username-Password-Authentication"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def mail_live(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[LiveServer]:
    """An https server whose email goes to ``inbox`` (``CONSENTRY_SMTP_*``)."""
    settings = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in inbox.settings.items()}
    server = LiveServer(tmp_path_factory.mktemp("mail-server"), settings=settings, tls=True).start()
    try:
        yield server
    finally:
        server.stop()


def _token(live: LiveServer, app: dict[str, Any], username: str, password: str) -> httpx.Response:
    return httpx.post(
        live.url("oauth/token"),
        verify=live.verify(),
        data={
            "grant_type": "password",
            "username": username,
            "password": password,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "openid",
        },
    )


async def test_node_sdk_signup_and_reset_by_email_in_chromium(
    mail_live: LiveServer, inbox: Inbox, browser_context: Any
) -> None:
    assert mail_live.process is not None and mail_live.process.ca_file is not None
    creds = mail_live.cli("admin", "create-client", "--name", unique("db-ops"))
    token = httpx.post(
        mail_live.url("oauth/token"),
        verify=mail_live.verify(),
        data={"grant_type": "client_credentials", "audience": mail_live.url("api/v2/"), **creds},
    ).json()["access_token"]
    app = httpx.post(
        mail_live.url("api/v2/clients"),
        verify=mail_live.verify(),
        headers={"Authorization": f"Bearer {token}"},
        json={
            "name": unique("web"),
            "app_type": "regular_web",
            "callbacks": ["https://app.example.com/cb"],
            "grant_types": ["authorization_code", "refresh_token", "password"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    ).json()
    email = f"{unique('signup')}@example.com"
    env = {
        "DOMAIN": urlsplit(mail_live.issuer).netloc,
        "CLIENT_ID": app["client_id"],
        "EMAIL": email,
        "PASSWORD": PASSWORD,
        "CONNECTION": CONNECTION,
        "NODE_EXTRA_CA_CERTS": str(mail_live.process.ca_file),
    }
    async with NodeScript("auth0_database_flow.mjs", env) as script:
        out = await script.read(timeout=90)
    assert "result" in out, out
    r = out["result"]
    assert r["sign_up_status"] == 200 and r["user"]["email"] == email and r["user"]["email_verified"] is False
    assert r["user"]["_id"] and not r["user"]["_id"].startswith("auth0|") and r["user"]["given_name"] == "Node"
    assert r["duplicate"]["status"] == 400  # the same address again: Auth0's user_exists
    assert r["change_status"] == 200 and r["text"] == "We've just sent you an email to reset your password."

    verification, reset = inbox.next(), inbox.next()
    assert verification["To"] == email and "Verify your email" in verification["Subject"]
    assert reset["To"] == email and "Reset your" in reset["Subject"]
    link = link_in(reset)
    assert link.startswith(mail_live.url("u/reset-password?ticket="))
    assert _token(mail_live, app, email, PASSWORD).status_code == 200  # the old password, before the reset

    page = await browser_context.new_page()
    await page.goto(link)
    await page.fill("#password", NEW_PASSWORD)
    await page.fill("#password-confirm", NEW_PASSWORD)
    async with page.expect_navigation():
        await page.click("#submit")
    assert await page.text_content("#notice") == "Your password has been changed successfully."

    refused = _token(mail_live, app, email, PASSWORD)
    assert refused.status_code in (400, 403) and refused.json()["error"] == "invalid_grant"  # the old one stops
    assert _token(mail_live, app, email, NEW_PASSWORD).status_code == 200
    await page.goto(link)  # the link worked once
    assert "expired or was already used" in (await page.content())


@pytest.fixture
async def browser_context(chromium: Any) -> AsyncIterator[Any]:
    """A fresh profile that accepts the dev certificate (node and httpx verify it against the dev CA)."""
    context = await chromium.new_context(ignore_https_errors=True)
    try:
        yield context
    finally:
        await context.close()
