"""Every form validates with the Management API's rules and re-renders with what was typed and the error inline."""

from __future__ import annotations

import html as html_lib
import re

import httpx
from sqlalchemy import func, select

from consentry.runtime import Runtime
from consentry.storage.models import Client, ClientGrant, ResourceServer, User
from tests.integration.ui.conftest import post_form, text_of

API_FORM = {
    "identifier": "https://social.example.com",
    "name": "Social API",
    "user_policy": "allow_all",
    "client_policy": "require_client_grant",
    "token_dialect": "rfc9068_profile",
    "token_lifetime": "",
    "allow_offline_access": "1",
    "scope_value": ["read:posts", "write:posts", ""],
    "scope_description": ["Read your posts", "Publish posts for you", ""],
}


def field_error(page: str, field_id: str) -> str:
    m = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    assert m, f"no error for {field_id}"
    return html_lib.unescape(m.group(1))


def value_of(page: str, name: str) -> str:
    m = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert m, f"no input {name}"
    return html_lib.unescape(m.group(1))


async def count(rt: Runtime, model: type) -> int:
    async with rt.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_api_scope_errors_are_shown_per_row_and_nothing_is_lost(
    admin: httpx.AsyncClient, runtime: Runtime
) -> None:
    form = {**API_FORM, "scope_value": ["read:posts", "write posts", ""], "scope_optional": ["1"]}
    r = await post_form(admin, "/admin/apis/new", "/admin/apis/new", form)
    assert r.status_code == 200
    assert "Please correct the fields marked below." in r.text
    assert "without spaces" in field_error(r.text, "scope-1")
    assert value_of(r.text, "identifier") == "https://social.example.com" and value_of(r.text, "name") == "Social API"
    assert 'value="write posts"' in r.text and 'value="Publish posts for you"' in r.text
    assert re.search(r'name="scope_optional" value="1"[^>]*checked', r.text)  # the ticked box stays ticked
    assert re.search(r'name="allow_offline_access" value="1" checked', r.text)
    assert await count(runtime, ResourceServer) == 1


async def test_api_service_errors_land_on_their_field(admin: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await post_form(
        admin,
        "/admin/apis/new",
        "/admin/apis/new",
        {**API_FORM, "scope_value": ["openid", "", ""], "scope_description": ["", "", ""]},
    )
    assert "openid, profile, email and offline_access are reserved" in text_of(r.text)
    r = await post_form(admin, "/admin/apis/new", "/admin/apis/new", {**API_FORM, "scope_value": ["", "", ""]})
    assert field_error(r.text, "scope-0").startswith("Enter the scope's value")  # a description without a scope
    r = await post_form(admin, "/admin/apis/new", "/admin/apis/new", {**API_FORM, "identifier": "https://x#frag"})
    assert field_error(r.text, "f-identifier") == "identifier must not contain a fragment."
    r = await post_form(admin, "/admin/apis/new", "/admin/apis/new", {**API_FORM, "token_lifetime": "abc"})
    assert field_error(r.text, "f-token_lifetime") == "Input should be a valid integer"
    assert value_of(r.text, "token_lifetime") == "abc"
    r = await post_form(admin, "/admin/apis/new", "/admin/apis/new", API_FORM)
    assert r.status_code == 303
    r = await post_form(admin, "/admin/apis/new", "/admin/apis/new", API_FORM)  # the same identifier again
    assert "already exists" in field_error(r.text, "f-identifier")
    assert await count(runtime, ResourceServer) == 2


async def test_application_errors_keep_every_field(admin: httpx.AsyncClient, runtime: Runtime) -> None:
    form = {
        "party": "third",
        "name": "Partner App",
        "app_type": "regular_web",
        "callbacks": "https://partner.example.com/callback\njavascript:alert(1)",
        "web_origins": "https://partner.example.com",
        "grant_types": ["authorization_code", "password"],
        "redirection_policy": "allow_always",
        "logo_uri": "https://partner.example.com/logo.png",
    }
    r = await post_form(admin, "/admin/applications/new", "/admin/applications/new", form)
    assert field_error(r.text, "g-grant_types") == "Grant type 'password' is not allowed for third-party applications."
    assert value_of(r.text, "name") == "Partner App" and value_of(r.text, "logo_uri").endswith("logo.png")
    assert "https://partner.example.com/callback\njavascript:alert(1)</textarea>" in r.text
    assert re.search(r'value="password"[^>]*checked', r.text)
    assert re.search(r'<option value="allow_always" selected>', r.text)
    r = await post_form(
        admin, "/admin/applications/new", "/admin/applications/new", {**form, "grant_types": ["authorization_code"]}
    )
    assert "scheme 'javascript' is not allowed" in field_error(r.text, "f-callbacks")
    r = await post_form(admin, "/admin/applications/new", "/admin/applications/new", {**form, "name": "  "})
    assert field_error(r.text, "f-name") == "This field is required"
    assert await count(runtime, Client) == 0


async def test_application_settings_error_rerenders_the_edit_form(admin: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await post_form(
        admin,
        "/admin/applications/new",
        "/admin/applications/new",
        {"party": "third", "name": "Partner App", "app_type": "spa", "callbacks": "https://partner.example.com/cb"},
    )
    client_id = re.search(r'id="client-id">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    page = f"/admin/applications/{client_id}"
    edit = {
        "name": "Renamed",
        "app_type": "spa",
        "callbacks": "https://partner.example.com/*",
        "grant_types": ["authorization_code"],
        "redirection_policy": "open_redirect_protection",
    }
    r = await post_form(admin, page, page, edit)
    assert "wildcards are not allowed" in field_error(r.text, "f-callbacks")
    assert value_of(r.text, "name") == "Renamed"
    assert "redirection_policy" in r.text  # still the third-party form
    async with runtime.db.read() as s:
        assert (await s.get(Client, client_id)).name == "Partner App"  # type: ignore[union-attr]
    r = await post_form(admin, page, page, {**edit, "callbacks": "https://partner.example.com/cb"})
    assert r.status_code == 303 and r.headers["location"].endswith(f"{page}?notice=app-saved")


async def test_user_and_settings_and_grant_forms(admin: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await post_form(
        admin,
        "/admin/users/new",
        "/admin/users/new",
        {
            "email": "alice@example.com",
            "password": "another good password",
            "name": "Alice",
            "connection": "Username-Password-Authentication",
        },
    )
    assert "The user already exists." in text_of(r.text)
    assert value_of(r.text, "email") == "alice@example.com" and value_of(r.text, "name") == "Alice"
    assert value_of(r.text, "password") == ""  # a password is never written back into a page
    r = await post_form(admin, "/admin/users/new", "/admin/users/new", {"email": "", "password": ""})
    assert field_error(r.text, "f-email") and field_error(r.text, "f-password")
    assert await count(runtime, User) == 2

    r = await post_form(
        admin,
        "/admin/settings",
        "/admin/settings",
        {"default_directory": "nope", "flag_use_scope_descriptions_for_consent": "1"},
    )
    assert "is not a connection" in field_error(r.text, "f-default_directory")
    assert re.search(r'name="flag_use_scope_descriptions_for_consent" value="1" checked', r.text)
    assert not (await runtime.catalog.tenant())["flags"]["use_scope_descriptions_for_consent"]

    r = await post_form(admin, "/admin/apis/new", "/admin/apis/new", API_FORM)
    r = await post_form(
        admin, "/admin/client-grants", "/admin/client-grants/defaults", {"audience": "https://social.example.com"}
    )
    assert "Choose at least one scope" in text_of(r.text)
    r = await post_form(
        admin,
        "/admin/client-grants",
        "/admin/client-grants/defaults",
        {"audience": "https://social.example.com", "scope": ["read:posts", "nope:x"]},
    )
    assert "Scopes are not defined on the resource server" in text_of(r.text)
    assert await count(runtime, ClientGrant) == 0


async def test_application_can_be_marked_as_an_agent_and_unmarked(admin: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await post_form(
        admin,
        "/admin/applications/new",
        "/admin/applications/new",
        {
            "party": "third",
            "name": "Helper Bot",
            "app_type": "spa",
            "is_agent": "1",
            "callbacks": "https://bot.example.com/cb",
        },
    )
    client_id = re.search(r'id="client-id">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    page = f"/admin/applications/{client_id}"
    assert 'name="is_agent" value="1" checked' in (await admin.get(page)).text
    edit = {
        "name": "Helper Bot",
        "app_type": "spa",
        "callbacks": "https://bot.example.com/cb",
        "grant_types": ["authorization_code"],
        "redirection_policy": "open_redirect_protection",
    }
    assert (await post_form(admin, page, page, edit)).status_code == 303  # the box left unticked
    async with runtime.db.read() as s:
        assert (await s.get(Client, client_id)).attributes["is_agent"] is False  # type: ignore[union-attr]


async def test_api_form_turns_rbac_on_and_off(admin: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await post_form(admin, "/admin/apis/new", "/admin/apis/new", {**API_FORM, "enforce_policies": "1"})
    assert r.status_code in (200, 303), r.text[:300]
    api = await runtime.catalog.api("https://social.example.com")
    assert api is not None and api.enforce_policies
    async with runtime.db.read() as s:
        api_id = await s.scalar(select(ResourceServer.id).where(ResourceServer.identifier == api.identifier))
    page = await admin.get(f"/admin/apis/{api_id}")
    assert re.search(r'name="enforce_policies" value="1" checked', page.text)
    form = {k: v for k, v in API_FORM.items() if k != "identifier"}
    r = await post_form(admin, f"/admin/apis/{api_id}", f"/admin/apis/{api_id}", form)
    assert r.status_code in (200, 303), r.text[:300]
    updated = await runtime.catalog.api("https://social.example.com")
    assert updated is not None and not updated.enforce_policies
