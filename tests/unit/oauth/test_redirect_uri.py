"""Redirect URIs: registration rules, exact matching, verifiability (SPEC T4, T9, C7; RFC 9700 §4.1.3, RFC 8252)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.oauth.redirect_uri import callback_problem, host_of, is_registered, is_verifiable

PROPERTY = settings(database=None, deadline=None, max_examples=500)

NOT_URL = "is not a valid URL"
SPACES = "must not contain spaces or control characters"
SURROUNDING = "must be a non-empty URL without surrounding spaces"
FRAGMENT = "must not contain a fragment"
USERINFO = "must not contain user information"
HTTPS_ONLY = "must use https (plain http is allowed only on a loopback host for native apps)"
REVERSE_DNS = "custom schemes must be in reverse-DNS form (e.g. com.example.app:/callback)"
NATIVE_ONLY = "custom schemes are allowed only for native applications"

# (uri, native, dcr, problem) — ``None`` means the callback may be registered.
CALLBACKS = [
    # accepted
    pytest.param("https://partner.example.com/callback", False, True, None, id="T9_https_web"),
    pytest.param("https://partner.example.com:8443/cb?x=1", False, True, None, id="T9_https_port_and_query"),
    pytest.param("http://127.0.0.1:53124/callback", True, True, None, id="T9_native_loopback_ipv4_any_port"),
    pytest.param("http://localhost:3000/cb", True, True, None, id="T9_native_loopback_localhost"),
    pytest.param("http://[::1]:8080/cb", True, True, None, id="T9_native_loopback_ipv6"),
    pytest.param("http://127.0.0.2/cb", True, True, None, id="T9_native_loopback_range"),
    pytest.param("com.example.app:/cb", True, True, None, id="T9_native_reverse_dns_scheme"),
    pytest.param("com.example.app://callback", True, True, None, id="T9_native_reverse_dns_scheme_slashes"),
    pytest.param("http://localhost:3000/cb", False, False, None, id="admin_http_localhost_for_development"),
    pytest.param("http://app.internal/cb", False, False, None, id="admin_may_register_plain_http"),
    pytest.param("https://exämple.com/cb", False, True, None, id="T9_idn_host"),
    # scripts and local content
    pytest.param("javascript:alert(1)", True, True, "scheme 'javascript' is not allowed", id="T9_javascript"),
    pytest.param("JavaScript:alert(1)", False, False, "scheme 'javascript' is not allowed", id="T9_javascript_case"),
    pytest.param("data:text/html,<script>1</script>", True, True, "scheme 'data' is not allowed", id="T9_data"),
    pytest.param("file:///etc/passwd", True, False, "scheme 'file' is not allowed", id="T9_file"),
    pytest.param("vbscript:msgbox(1)", True, True, "scheme 'vbscript' is not allowed", id="T9_vbscript"),
    pytest.param("blob:https://a.example/x", True, True, "scheme 'blob' is not allowed", id="T9_blob"),
    pytest.param("ftp://files.example.com/cb", True, True, "scheme 'ftp' is not allowed", id="T9_ftp"),
    pytest.param("wss://a.example.com/cb", True, True, "scheme 'wss' is not allowed", id="T9_wss"),
    # fragments, userinfo, wildcards
    pytest.param("https://a.example.com/cb#x", False, True, FRAGMENT, id="T9_fragment"),
    pytest.param("https://a.example.com/cb#", False, False, FRAGMENT, id="T9_empty_fragment"),
    pytest.param("com.example.app:/cb#frag", True, True, FRAGMENT, id="T9_fragment_custom_scheme"),
    pytest.param("https://a@evil.com/cb", False, False, USERINFO, id="T4_userinfo"),
    pytest.param("https://good.example.com:pw@evil.com/cb", False, False, USERINFO, id="T4_userinfo_password"),
    pytest.param("https://@evil.com/cb", False, False, USERINFO, id="T4_empty_userinfo"),
    pytest.param("https://good.example.com\\@evil.com/cb", False, False, USERINFO, id="T4_backslash_userinfo"),
    pytest.param("https://*.example.com/cb", False, False, "wildcards are not allowed", id="T4_wildcard_host"),
    pytest.param("https://a.example.com/*", False, False, "wildcards are not allowed", id="T4_wildcard_path"),
    # spaces and control characters
    pytest.param("https://a.example.com/c b", False, False, SPACES, id="space_inside"),
    pytest.param(" https://a.example.com/cb", False, False, SURROUNDING, id="leading_space"),
    pytest.param("https://a.example.com/cb\n", False, False, SURROUNDING, id="trailing_newline"),
    pytest.param("https://a.example.com/\tcb", False, False, SPACES, id="tab_inside"),
    pytest.param("https://a.example.com/\x00cb", False, False, SPACES, id="nul_inside"),
    pytest.param("https://a.example.com/\x7fcb", False, False, SPACES, id="del_inside"),
    pytest.param("https://a.example.com/\x9bcb", False, False, SPACES, id="c1_control_inside"),
    pytest.param("https://a\u00a0example.com/cb", False, False, SPACES, id="no_break_space_inside"),
    pytest.param("https://\u202emoc.live/cb", False, False, SPACES, id="right_to_left_override"),
    pytest.param("https://a\u200b.example.com/cb", False, False, SPACES, id="zero_width_space"),
    pytest.param("java\tscript:alert(1)", False, False, SPACES, id="tab_in_scheme"),
    pytest.param("", False, False, SURROUNDING, id="empty"),
    pytest.param("https://a.example.com/" + "x" * 2000, False, False, SURROUNDING, id="too_long"),
    # malformed
    pytest.param("https://a.example.com:99999/cb", False, False, NOT_URL, id="port_out_of_range"),
    pytest.param("https://a.example.com:-1/cb", False, False, NOT_URL, id="negative_port"),
    pytest.param("https://a.example.com:http/cb", False, False, NOT_URL, id="non_numeric_port"),
    pytest.param("https://[::1/cb", False, False, NOT_URL, id="broken_ipv6_literal"),
    pytest.param("//evil.com/cb", False, False, "must be an absolute URL", id="scheme_relative"),
    pytest.param("/callback", False, False, "must be an absolute URL", id="relative_path"),
    pytest.param("https:///cb", False, False, "must include a host", id="https_without_host"),
    pytest.param("https:evil.com/cb", False, False, "must include a host", id="https_opaque"),
    # plain http under dynamic registration
    pytest.param("http://partner.example.com/cb", False, True, HTTPS_ONLY, id="T9_dcr_web_http_refused"),
    pytest.param("http://partner.example.com/cb", True, True, HTTPS_ONLY, id="T9_dcr_native_http_non_loopback"),
    pytest.param("http://localhost:3000/cb", False, True, HTTPS_ONLY, id="T9_dcr_web_http_loopback_refused"),
    pytest.param("http://localhost.evil.com/cb", True, True, HTTPS_ONLY, id="T9_dcr_localhost_prefix_domain"),
    pytest.param("http://127.0.0.1.nip.io/cb", True, True, HTTPS_ONLY, id="T9_dcr_loopback_lookalike"),
    pytest.param("http://localhost./cb", True, True, HTTPS_ONLY, id="T9_dcr_localhost_trailing_dot_strict"),
    pytest.param("http://0.0.0.0:8080/cb", True, True, HTTPS_ONLY, id="T9_dcr_unspecified_address"),
    # custom schemes
    pytest.param("myapp:/cb", True, True, REVERSE_DNS, id="T9_custom_scheme_without_dot"),
    pytest.param("myapp://cb", True, False, REVERSE_DNS, id="admin_custom_scheme_without_dot"),
    pytest.param("com.example.app:/cb", False, True, NATIVE_ONLY, id="T9_dcr_web_custom_scheme"),
    pytest.param("com.example.app:/cb", False, False, None, id="admin_web_custom_scheme_with_dot"),
]


@pytest.mark.parametrize(("uri", "native", "dcr", "problem"), CALLBACKS)
def test_callback_problem(uri: str, native: bool, dcr: bool, problem: str | None) -> None:
    assert callback_problem(uri, native=native, dcr=dcr) == problem


# --- exact matching (RFC 9700 §4.1.3) -----------------------------------------------------------------------------

REGISTERED = "https://partner.example.com/callback"
MATCHING = [
    pytest.param(REGISTERED, [REGISTERED], True, id="identical"),
    pytest.param(REGISTERED, ["https://other.example.com/cb", REGISTERED], True, id="identical_among_several"),
    pytest.param(REGISTERED, [], False, id="nothing_registered"),
    pytest.param("https://PARTNER.example.com/callback", [REGISTERED], False, id="host_case"),
    pytest.param("HTTPS://partner.example.com/callback", [REGISTERED], False, id="scheme_case"),
    pytest.param("https://partner.example.com/Callback", [REGISTERED], False, id="path_case"),
    pytest.param(REGISTERED + "/", [REGISTERED], False, id="trailing_slash_added"),
    pytest.param("https://partner.example.com/", ["https://partner.example.com"], False, id="root_slash_added"),
    pytest.param("https://partner.example.com", ["https://partner.example.com/"], False, id="root_slash_missing"),
    pytest.param("https://partner.example.com/call%62ack", [REGISTERED], False, id="percent_encoded_letter"),
    pytest.param("https://partner.example.com/a%2Fb", ["https://partner.example.com/a/b"], False, id="encoded_slash"),
    pytest.param(
        "https://partner.example.com/a%2fb", ["https://partner.example.com/a%2Fb"], False, id="percent_encoding_case"
    ),
    pytest.param(REGISTERED + "?x=1", [REGISTERED], False, id="query_added"),
    pytest.param(REGISTERED, [REGISTERED + "?x=1"], False, id="query_missing"),
    pytest.param(REGISTERED + "?b=2&a=1", [REGISTERED + "?a=1&b=2"], False, id="query_reordered"),
    pytest.param("https://partner.example.com:443/callback", [REGISTERED], False, id="default_port_added"),
    pytest.param("https://partner.example.com./callback", [REGISTERED], False, id="trailing_dot_host"),
    pytest.param("https://partner.example.com/./callback", [REGISTERED], False, id="dot_segment"),
    pytest.param("https://xn--exmple-cua.com/cb", ["https://exämple.com/cb"], False, id="punycode_vs_unicode"),
    pytest.param("https://exämple.com/cb", ["https://xn--exmple-cua.com/cb"], False, id="unicode_vs_punycode"),
    pytest.param("http://127.0.0.1:5000/cb", ["http://127.0.0.1:5001/cb"], False, id="loopback_other_port"),
    pytest.param("http://localhost/cb", ["http://127.0.0.1/cb"], False, id="localhost_vs_ip"),
    pytest.param(REGISTERED + "#x", [REGISTERED], False, id="fragment_added"),
    pytest.param(
        "https://partner.example.com/callback", ("https://partner.example.com/callback",), True, id="tuple_of_callbacks"
    ),
]


@pytest.mark.parametrize(("redirect_uri", "callbacks", "expected"), MATCHING)
def test_is_registered_exact(redirect_uri: str, callbacks: list[str], expected: bool) -> None:
    assert is_registered(redirect_uri, callbacks) is expected


_uri_chars = st.sampled_from(list("aAbB/:.%2F?&=#-_é ") + ["https://", "http://", "xn--", "%2f"])
_uris = st.lists(_uri_chars, max_size=12).map("".join)


@PROPERTY
@given(x=_uris, y=_uris)
def test_is_registered_property_iff_identical(x: str, y: str) -> None:
    assert is_registered(x, [y]) is (x == y)
    assert is_registered(x, [x])


# --- verifiable callbacks (SPEC C7) -------------------------------------------------------------------------------

VERIFIABLE = [
    pytest.param("https://partner.example.com/callback", True, id="C7_https_public_host"),
    pytest.param("https://partner.example.com:8443/cb", True, id="C7_https_public_host_port"),
    pytest.param("http://partner.example.com/callback", True, id="C7_http_public_host"),
    pytest.param("https://localhost.example.com/cb", True, id="C7_localhost_prefix_is_a_real_domain"),
    pytest.param("http://localhost:3000/cb", False, id="C7_localhost"),
    pytest.param("https://localhost/cb", False, id="C7_https_localhost"),
    pytest.param("http://LOCALHOST/cb", False, id="C7_localhost_case"),
    pytest.param("http://127.0.0.1:8080/cb", False, id="C7_loopback_ipv4"),
    pytest.param("http://127.0.0.2/cb", False, id="C7_loopback_range"),
    pytest.param("http://[::1]:8080/cb", False, id="C7_loopback_ipv6"),
    pytest.param("http://localhost./cb", False, id="C7_localhost_trailing_dot"),
    pytest.param("http://app.localhost:3000/cb", False, id="C7_localhost_subdomain"),
    pytest.param("http://0.0.0.0:8080/cb", False, id="C7_unspecified_ipv4"),
    pytest.param("http://[::]:8080/cb", False, id="C7_unspecified_ipv6"),
    pytest.param("http://[::ffff:127.0.0.1]/cb", False, id="C7_ipv4_mapped_loopback"),
    pytest.param("com.example.app:/cb", False, id="C7_custom_scheme"),
    pytest.param("com.example.app://callback", False, id="C7_custom_scheme_slashes"),
    pytest.param("HTTPS://partner.example.com/cb", True, id="C7_scheme_case"),
    pytest.param("https:///cb", False, id="C7_no_host"),
]


@pytest.mark.parametrize(("uri", "expected"), VERIFIABLE)
def test_C7_is_verifiable(uri: str, expected: bool) -> None:
    assert is_verifiable(uri) is expected


@pytest.mark.parametrize(
    ("uri", "host"),
    [
        pytest.param("https://partner.example.com/callback", "partner.example.com", id="https"),
        pytest.param("http://127.0.0.1:8080/cb", "127.0.0.1:8080", id="loopback_with_port"),
        pytest.param("com.example.app:/cb", "com.example.app:", id="custom_scheme"),
    ],
)
def test_C7_host_of(uri: str, host: str) -> None:
    assert host_of(uri) == host


_pieces = st.sampled_from(
    [
        "https://",
        "http://",
        "com.example.app:",
        "javascript:",
        "myapp:",
        "//",
        "localhost",
        "127.0.0.1",
        "[::1]",
        "evil.com",
        "a@",
        ":8080",
        ":99999",
        "/cb",
        "#",
        "?x=1",
        "*",
        " ",
        "\u202e",
        "%2F",
        ".",
    ]
)


@PROPERTY
@given(uri=st.one_of(st.lists(_pieces, max_size=6).map("".join), st.text(max_size=30)), native=st.booleans())
def test_T9_property_dcr_accepts_only_safe_callbacks(uri: str, native: bool) -> None:
    if callback_problem(uri, native=native, dcr=True) is not None:
        return
    parts = urlsplit(uri)
    assert "#" not in uri and "*" not in uri and uri.isprintable() and not any(c.isspace() for c in uri)
    if parts.scheme == "https":
        assert parts.hostname and parts.username is None
    elif parts.scheme == "http":
        assert native and not is_verifiable(uri)
    else:
        assert native and "." in parts.scheme and not is_verifiable(uri)
