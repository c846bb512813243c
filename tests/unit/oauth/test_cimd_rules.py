"""Auth0's manual CIMD rules: the URL table, the document report (mapping, violations, warnings), JWKS keys."""

from __future__ import annotations

from typing import Any

import pytest

from consentry.oauth.cimd_rules import external_id_problem, jwks_uri_problem, read_document, read_jwks

URL = "https://agent.example.com/oauth/client.json"


@pytest.mark.parametrize(
    "url, problem",
    [
        (URL, None),
        ("https://agent.example.com:8443/c.json", None),
        ("https://agent.example.com/a%20b.json", None),
        ("", "must be a non-empty URL"),
        (" " + URL, "must not contain whitespace or control characters"),
        (URL + "\n", "must not contain whitespace or control characters"),
        ("https://agent.example.com/a b", "must not contain whitespace or control characters"),
        ("https://agént.example.com/c.json", "must be ASCII (internationalized host names in their xn-- form)"),
        ("https://agent.example.com/" + "a" * 94, None),  # exactly 120 bytes
        ("https://agent.example.com/" + "a" * 95, "must be at most 120 bytes"),
        ("https://agent.example.com/%zz", "must follow '%' with two hexadecimal digits"),
        ("https://agent.example.com/c%2", "must follow '%' with two hexadecimal digits"),
        (URL + "#frag", "must not contain a fragment"),
        (URL + "?v=1", "must not contain a query string"),
        (URL + "?", "must not contain a query string"),
        ("http://agent.example.com/c.json", "must use the https scheme"),
        ("ftp://agent.example.com/c.json", "must use the https scheme"),
        ("https:///c.json", "must contain a host name"),
        ("https://user:pw@agent.example.com/c.json", "must not contain a user name or password"),
        ("https://agent.example.com:0/c.json", "must not use port 0"),
        ("https://agent.example.com:99999/c.json", "is not a valid URL"),
        ("https://agent.example.com", "must have a path beyond '/'"),
        ("https://agent.example.com/", "must have a path beyond '/'"),
        ("https://agent.example.com/a/../c.json", "must not contain '.' or '..' path segments"),
        ("https://agent.example.com/a/%2e%2E/c.json", "must not contain '.' or '..' path segments"),
        ("https://agent.example.com/./c.json", "must not contain '.' or '..' path segments"),
        ("https://localhost/c.json", "must not point at localhost"),
        ("https://LOCALHOST:8443/c.json", "must not point at localhost"),
        ("https://api.localhost/c.json", "must not point at localhost"),
        ("https://127.0.0.1/c.json", "must not point at localhost"),
        ("https://127.1.2.3/c.json", "must not point at localhost"),
        ("https://[::1]/c.json", "must not point at localhost"),
        ("https://0.0.0.0/c.json", "must not point at localhost"),
    ],
)
def test_external_id_rules(url: str, problem: str | None) -> None:
    assert external_id_problem(url) == problem


def doc(**members: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"client_id": URL, "client_name": "Agent", "redirect_uris": ["http://127.0.0.1:9299/cb"]}
    base.update(members)
    return {k: v for k, v in base.items() if v is not None}


def test_a_minimal_document_maps_to_a_public_native_client() -> None:
    report = read_document(doc(), URL, "agent.example.com")
    assert report.valid and report.warnings == []
    assert report.mapped == {
        "external_client_id": URL,
        "app_type": "native",
        "name": "Agent",
        "callbacks": ["http://127.0.0.1:9299/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    }


def test_private_key_jwt_maps_the_jwks_uri() -> None:
    report = read_document(
        doc(
            token_endpoint_auth_method="private_key_jwt",
            jwks_uri="https://agent.example.com/k",
            grant_types=["authorization_code"],
            logo_uri="https://cdn.example/l.png",
        ),
        URL,
        "agent.example.com",
    )
    assert report.valid, report.violations
    assert report.mapped["token_endpoint_auth_method"] == "private_key_jwt"
    assert report.mapped["jwks_uri"] == "https://agent.example.com/k"
    assert report.mapped["grant_types"] == ["authorization_code"]
    assert report.mapped["logo_uri"] == "https://cdn.example/l.png"


@pytest.mark.parametrize(
    "members, violation",
    [
        ({"client_id": URL + "x"}, "client_id in the document must equal its URL exactly."),
        ({"client_secret": "s"}, "client_secret members are not allowed: a metadata document has no shared secret."),
        (
            {"token_endpoint_auth_method": "client_secret_basic"},
            "token_endpoint_auth_method must be none or private_key_jwt, not 'client_secret_basic'.",
        ),
        (
            {"token_endpoint_auth_method": "private_key_jwt"},
            "token_endpoint_auth_method private_key_jwt needs a jwks_uri.",
        ),
        (
            {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://keys.example.com/jwks"},
            "jwks_uri must be on the same origin (scheme, host and port) as the metadata document.",
        ),
        (
            {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://agent.example.com:444/jwks"},
            "jwks_uri must be on the same origin (scheme, host and port) as the metadata document.",
        ),
        (
            {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://agent.example.com/jwks"},
            "jwks_uri must be an https URL with a host and no user information.",
        ),
        ({"jwks": {"keys": []}}, "An inline jwks is not supported: publish the keys at a jwks_uri."),
        ({"redirect_uris": None}, "redirect_uris must list 1 to 20 URLs."),
        ({"redirect_uris": []}, "redirect_uris must list 1 to 20 URLs."),
        ({"redirect_uris": [f"https://a.example/{i}" for i in range(21)]}, "redirect_uris must list 1 to 20 URLs."),
        (
            {"redirect_uris": ["javascript:alert(1)"]},
            "redirect_uris entry 'javascript:alert(1)' scheme 'javascript' is not allowed.",
        ),
        (
            {"redirect_uris": ["https://*.example.com/cb"]},
            "redirect_uris entry 'https://*.example.com/cb' wildcards are not allowed.",
        ),
        (
            {"grant_types": ["client_credentials"]},
            "grant_types may contain only authorization_code and refresh_token (client_credentials).",
        ),
        ({"grant_types": []}, "grant_types must be a non-empty list of strings."),
        ({"response_types": ["token"]}, 'response_types must be ["code"].'),
        ({"client_name": "<b>Bank</b>"}, "client_name must be 1 to 255 visible characters without '<' or '>'."),
        ({"client_name": 7}, "client_name must be a string."),
        ({"logo_uri": "http://cdn.example/l.png"}, "logo_uri must be an https URL."),
    ],
)
def test_each_rule_is_a_violation_naming_it(members: dict[str, Any], violation: str) -> None:
    report = read_document(doc(**members), URL, "agent.example.com")
    assert not report.valid
    assert violation in report.violations, report.violations


def test_every_violation_is_reported_at_once() -> None:
    report = read_document(doc(client_id="x", redirect_uris=[], response_types=["token"]), URL, "h")
    assert len(report.violations) == 3, report.violations


def test_not_an_object() -> None:
    assert read_document([1], URL, "h").violations == ["The metadata document must be a JSON object."]


def test_warnings_for_ignored_properties_and_a_missing_name() -> None:
    report = read_document(
        doc(
            client_name=None,
            client_uri="https://agent.example.com/",
            contacts=["a@b.c"],
            token_endpoint_auth_method="none",
            jwks_uri="https://agent.example.com/k",
        ),
        URL,
        "agent.example.com",
    )
    assert report.valid
    assert report.mapped["name"] == "agent.example.com" and "jwks_uri" not in report.mapped
    assert report.warnings == [
        "client_name is missing: the application is named after its host (agent.example.com).",
        "jwks_uri is ignored: token_endpoint_auth_method is none.",
        "Property 'client_uri' is not supported and was ignored.",
        "Property 'contacts' is not supported and was ignored.",
    ]


def test_jwks_uri_problem_table() -> None:
    assert jwks_uri_problem("https://agent.example.com:443/k", URL) is None
    assert jwks_uri_problem("https://AGENT.example.com/k", URL) is None
    assert jwks_uri_problem("https://agent.example.com/k#x", URL) == "must be an https URL without spaces or a fragment"
    assert jwks_uri_problem("https://agent.example.com:x/k", URL) == "is not a valid URL"


RSA = {"kty": "RSA", "kid": "k1", "alg": "RS256", "n": "AQAB", "e": "AQAB"}


@pytest.mark.parametrize(
    "jwks, credentials, problems",
    [
        ({"keys": [RSA]}, [{"credential_type": "public_key", "kid": "k1", "alg": "RS256"}], []),
        (
            {"keys": [{**RSA, "d": "secret"}]},
            [],
            ["The jwks_uri document contains private key material; publish public keys only."],
        ),
        (
            {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
            [],
            [
                "The jwks_uri document contains private key material; publish public keys only.",
                "Every key at jwks_uri needs kty RSA, EC, OKP.",
            ],
        ),
        ({"keys": []}, [], ["The jwks_uri document must be a JWKS: an object with a non-empty keys list."]),
        ([RSA], [], ["The jwks_uri document must be a JWKS: an object with a non-empty keys list."]),
        ({"keys": ["x"]}, [], ["The jwks_uri document must be a JWKS: an object with a non-empty keys list."]),
    ],
)
def test_read_jwks(jwks: Any, credentials: list[dict[str, Any]], problems: list[str]) -> None:
    assert read_jwks(jwks) == (credentials, problems)
