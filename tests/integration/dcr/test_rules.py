"""Pure DCR metadata rules (no database): redirect URI policy table and metadata validation."""

from __future__ import annotations

from typing import Any

import pytest

from consentry.oauth.errors import OAuthError
from consentry.oauth.registration import ClientMetadata, redirect_problem, validate
from consentry.settings import Settings

DEFAULT = Settings(database_url="sqlite+aiosqlite:///:memory:")


@pytest.mark.parametrize(
    ("uri", "native", "allowed"),
    [
        ("https://app.example.com/cb", False, True),
        ("https://app.example.com/cb?x=1", False, True),
        ("https://app.example.com:8443/cb", True, True),
        ("http://127.0.0.1:33418/callback", True, True),
        ("http://127.0.0.1/callback", True, True),
        ("http://[::1]:9000/cb", True, True),
        ("http://localhost:8080/cb", True, True),
        ("com.example.app:/oauth2redirect", True, True),
        ("com.example.app://callback", True, True),
        ("http://127.0.0.1:33418/callback", False, False),
        ("com.example.app:/oauth2redirect", False, False),
        ("myapp:/cb", True, False),
        ("http://app.example.com/cb", True, False),
        ("http://192.168.1.10/cb", True, False),
        ("http://127.0.0.1.evil.com/cb", True, False),
        ("https://app.example.com/cb#x", False, False),
        ("https://app.example.com/cb#", False, False),
        ("javascript:alert(1)", True, False),
        ("JavaScript:alert(1)", True, False),
        ("data:text/html,hi", True, False),
        ("file:///etc/passwd", True, False),
        ("vbscript:msgbox", True, False),
        ("https://user:pw@app.example.com/cb", False, False),
        ("https://*.example.com/cb", False, False),
        ("https:///cb", False, False),
        ("//app.example.com/cb", False, False),
        (" https://app.example.com/cb", False, False),
        ("https://app.example.com/c b", False, False),
        ("https://app.example.com/\u202ecb", False, False),
        ("", False, False),
    ],
)
def test_redirect_policy_table(uri: str, native: bool, allowed: bool) -> None:
    assert (redirect_problem(uri, native=native, settings=DEFAULT) is None) is allowed


@pytest.mark.parametrize(
    ("schemes", "uri", "allowed"),
    [
        (["https"], "https://a.example/cb", True),
        (["https"], "http://127.0.0.1:1/cb", False),
        (["https"], "com.example.app:/cb", False),
        (["http", "private-use"], "https://a.example/cb", False),
        (["http"], "http://127.0.0.1:1/cb", True),
        (["private-use"], "com.example.app:/cb", True),
    ],
)
def test_scheme_policy(schemes: list[str], uri: str, allowed: bool) -> None:
    cfg = Settings(database_url="sqlite+aiosqlite:///:memory:", dcr_allowed_redirect_schemes=schemes)
    assert (redirect_problem(uri, native=True, settings=cfg) is None) is allowed


def _validate(**meta: Any) -> Any:
    return validate(ClientMetadata.model_validate({"redirect_uris": ["https://a.example/cb"], **meta}), DEFAULT)


@pytest.mark.parametrize(
    ("meta", "app_type", "method", "origins"),
    [
        ({}, "regular_web", "client_secret_basic", []),
        ({"token_endpoint_auth_method": "client_secret_post"}, "regular_web", "client_secret_post", []),
        ({"token_endpoint_auth_method": "none"}, "spa", "none", ["https://a.example"]),
        ({"token_endpoint_auth_method": "none", "application_type": "native"}, "native", "none", []),
        ({"application_type": "native"}, "regular_web", "client_secret_basic", []),
    ],
)
def test_client_kind_follows_the_auth_method(
    meta: dict[str, Any], app_type: str, method: str, origins: list[str]
) -> None:
    reg = _validate(**meta)
    assert (reg.app_type, reg.auth_method, reg.web_origins) == (app_type, method, origins)
    assert reg.grant_types == ["authorization_code", "refresh_token"]


def test_duplicates_are_folded_and_nulls_are_absent() -> None:
    reg = _validate(
        redirect_uris=["https://a.example/cb"] * 2,
        grant_types=["authorization_code"] * 2,
        client_name=None,
        scope=None,
        contacts=None,
    )
    assert reg.redirect_uris == ["https://a.example/cb"] and reg.grant_types == ["authorization_code"]
    assert reg.name == "a.example" and reg.metadata == {"application_type": "web"}


def test_errors_are_oauth_errors() -> None:
    with pytest.raises(OAuthError) as exc:
        _validate(response_types=["code", "token"])
    assert exc.value.error == "invalid_client_metadata" and exc.value.status == 400
