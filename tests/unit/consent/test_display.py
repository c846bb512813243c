"""Consent screen wording (SPEC C4, C5 and the consent screen content list). One row per rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.config_records import ScopeDef
from consentry.consent.display import (
    ADMIN_LABEL,
    UNVERIFIED_LABEL,
    PermissionLine,
    humanize,
    identity_lines,
    join_english,
    offline_access_note,
    permission_lines,
    registration_label,
)
from tests.unit.builders import make_api, make_client

PROPERTY = settings(database=None, deadline=None, max_examples=300)

BLOG_API = make_api(
    (
        ScopeDef("read:posts", "Read your blog posts"),
        ScopeDef("write:posts", "Publish and edit posts"),
        ScopeDef("delete:posts", "   "),
        ScopeDef("read:comments", "See comments", optional=True),
        ScopeDef("write:comments", "", optional=True),
        ScopeDef("stats", "View statistics", optional=True),
    )
)


def _line(title: str, text: str, *scopes: str, optional: bool = False) -> PermissionLine:
    return PermissionLine(title, text, scopes, optional)


def _render(lines: list[PermissionLine]) -> list[str]:
    return [f"{ln.title}: {ln.text}" if ln.text else ln.title for ln in lines]


# --- C5: grouping by resource (the default) -------------------------------------------------------------------

GROUPING = [
    pytest.param("read:posts write:posts", ["Posts: read and write your posts"], id="C5_seed_example"),
    pytest.param("read:posts", ["Posts: read your posts"], id="C5_single_action"),
    pytest.param(
        "read:posts write:posts delete:posts", ["Posts: read, write and delete your posts"], id="C5_three_actions"
    ),
    pytest.param("write:posts read:posts", ["Posts: write and read your posts"], id="C5_actions_keep_request_order"),
    pytest.param(
        "read:comments read:posts write:comments",
        ["Comments: read and write your comments", "Posts: read your posts"],
        id="C5_resources_keep_first_seen_order",
    ),
    pytest.param("read:blog_posts", ["Blog posts: read your blog posts"], id="C5_underscore_resource"),
    pytest.param("read:blog-posts", ["Blog posts: read your blog posts"], id="C5_dash_resource"),
    pytest.param("read:API_keys", ["API keys: read your API keys"], id="C5_title_keeps_inner_case"),
    pytest.param("read_all:posts", ["Posts: read all your posts"], id="C5_action_words"),
    pytest.param("read:posts read:posts", ["Posts: read your posts"], id="C5_duplicate_scope_once"),
    pytest.param("stats", ["stats"], id="C5_no_colon_by_name"),
    pytest.param("offline_access", ["offline_access"], id="C5_offline_access_by_name"),
    pytest.param("read:posts:all", ["read:posts:all"], id="C5_several_colons_by_name"),
    pytest.param("read:", ["read:"], id="C5_empty_resource_by_name"),
    pytest.param(":posts", [":posts"], id="C5_empty_action_by_name"),
    pytest.param("read:__", ["read:__"], id="C5_separator_only_resource_by_name"),
    pytest.param("https://api.example.com/read", ["https://api.example.com/read"], id="C5_url_scope_by_name"),
    pytest.param("read:posts.all", ["read:posts.all"], id="C5_dotted_resource_by_name"),
    pytest.param(
        "read:posts stats write:posts read:comments",
        ["Posts: read and write your posts", "stats", "Comments: read your comments"],
        id="C5_mixed_forms_in_first_seen_order",
    ),
    pytest.param("", [], id="C5_nothing_requested"),
]


@pytest.mark.parametrize(("requested", "expected"), GROUPING)
def test_C5_grouped_lines(requested: str, expected: list[str]) -> None:
    lines = permission_lines(BLOG_API, requested.split(), use_descriptions=False)
    assert _render(lines) == expected


def test_C5_seed_example_line_literally() -> None:
    api = make_api(("read:posts", "write:posts"))
    assert permission_lines(api, ["read:posts", "write:posts"], use_descriptions=False) == [
        _line("Posts", "read and write your posts", "read:posts", "write:posts")
    ]


def test_C5_grouped_line_carries_its_scopes_in_request_order() -> None:
    lines = permission_lines(BLOG_API, ["write:posts", "stats", "read:posts"], use_descriptions=False)
    assert [ln.scopes for ln in lines] == [("write:posts", "read:posts"), ("stats",)]


def test_C5_resources_differing_only_in_separator_stay_separate_lines() -> None:
    lines = permission_lines(BLOG_API, ["read:blog_posts", "write:blog-posts"], use_descriptions=False)
    assert [ln.scopes for ln in lines] == [("read:blog_posts",), ("write:blog-posts",)]


def test_C5_scopes_unknown_to_the_api_are_still_shown() -> None:
    lines = permission_lines(BLOG_API, ["read:invoices"], use_descriptions=False)
    assert lines == [_line("Invoices", "read your invoices", "read:invoices")]


def test_C5_accepts_any_iterable_of_scopes() -> None:
    lines = permission_lines(BLOG_API, (s for s in ["read:posts", "write:posts"]), use_descriptions=False)
    assert _render(lines) == ["Posts: read and write your posts"]


# --- C5: use_scope_descriptions_for_consent -----------------------------------------------------------------------

DESCRIPTIONS = [
    pytest.param("read:posts write:posts", ["Read your blog posts", "Publish and edit posts"], id="C5_descriptions"),
    pytest.param("write:comments", ["write:comments"], id="C5_empty_description_falls_back_to_name"),
    pytest.param("delete:posts", ["delete:posts"], id="C5_blank_description_falls_back_to_name"),
    pytest.param("read:invoices", ["read:invoices"], id="C5_scope_unknown_to_api_falls_back_to_name"),
    pytest.param("stats offline_access", ["View statistics", "offline_access"], id="C5_other_forms_by_description"),
    pytest.param(
        "write:posts stats read:posts",
        ["Publish and edit posts", "View statistics", "Read your blog posts"],
        id="C5_descriptions_keep_request_order",
    ),
]


@pytest.mark.parametrize(("requested", "expected"), DESCRIPTIONS)
def test_C5_descriptions_one_line_per_scope(requested: str, expected: list[str]) -> None:
    lines = permission_lines(BLOG_API, requested.split(), use_descriptions=True)
    assert _render(lines) == expected
    assert [ln.scopes for ln in lines] == [(s,) for s in dict.fromkeys(requested.split())]
    assert all(ln.text == "" for ln in lines)


def test_C5_descriptions_flag_off_ignores_descriptions() -> None:
    lines = permission_lines(BLOG_API, ["read:posts"], use_descriptions=False)
    assert _render(lines) == ["Posts: read your posts"]


# --- per-scope (optional) consent ---------------------------------------------------------------------------------

OPTIONAL = [
    pytest.param("read:comments write:comments", False, [True], id="optional_when_every_scope_is_optional"),
    pytest.param("read:posts write:posts", False, [False], id="required_when_one_scope_is_required"),
    pytest.param("stats", False, [True], id="optional_scope_shown_by_name"),
    pytest.param("read:invoices", False, [False], id="scope_unknown_to_api_is_required"),
    pytest.param("read:posts read:comments", True, [False, True], id="descriptions_flag_per_scope"),
]


def test_optional_scopes_of_a_resource_get_their_own_line() -> None:
    api = make_api((ScopeDef("read:notes"), ScopeDef("delete:notes", optional=True)))
    lines = permission_lines(api, ["read:notes", "delete:notes"], use_descriptions=False)
    assert [(ln.title, ln.text, ln.optional) for ln in lines] == [
        ("Notes", "read your notes", False),
        ("Notes", "delete your notes", True),
    ]


@pytest.mark.parametrize(("requested", "use_descriptions", "expected"), OPTIONAL)
def test_C5_optional_flags(requested: str, use_descriptions: bool, expected: list[bool]) -> None:
    lines = permission_lines(BLOG_API, requested.split(), use_descriptions=use_descriptions)
    assert [ln.optional for ln in lines] == expected


# --- helpers ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "expected"),
    [([], ""), (["read"], "read"), (["read", "write"], "read and write"), (["a", "b", "c", "d"], "a, b, c and d")],
)
def test_C5_join_english(items: list[str], expected: str) -> None:
    assert join_english(items) == expected


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("posts", "Posts"),
        ("blog_posts", "Blog posts"),
        ("blog-posts", "Blog posts"),
        ("blog__posts", "Blog posts"),
        ("_posts_", "Posts"),
        ("API_keys", "API keys"),
    ],
)
def test_C5_humanize(resource: str, expected: str) -> None:
    assert humanize(resource) == expected


# --- C4: identity scopes, offline access --------------------------------------------------------------------------

IDENTITY = [
    pytest.param("openid", ["Your identity: sign you in and know who you are"], id="C4_openid"),
    pytest.param("profile", ["Your profile: name, nickname and picture"], id="C4_profile"),
    pytest.param("email", ["Your email address: the address and whether it is verified"], id="C4_email"),
    pytest.param(
        "email profile openid",
        [
            "Your identity: sign you in and know who you are",
            "Your profile: name, nickname and picture",
            "Your email address: the address and whether it is verified",
        ],
        id="C4_fixed_order_identity_first",
    ),
    pytest.param("offline_access read:posts", [], id="C4_non_identity_scopes_ignored"),
    pytest.param("openid openid", ["Your identity: sign you in and know who you are"], id="C4_duplicates_once"),
]


@pytest.mark.parametrize(("requested", "expected"), IDENTITY)
def test_C4_identity_lines(requested: str, expected: list[str]) -> None:
    lines = identity_lines(requested.split())
    assert _render(lines) == expected
    assert all(len(ln.scopes) == 1 and not ln.optional for ln in lines)


def test_C4_offline_access_note_says_long_lived() -> None:
    note = offline_access_note()
    assert "long-lived" in note and "not using the app" in note


# --- registration label (consent screen content) ------------------------------------------------------------------

REGISTRATION = [
    pytest.param("admin", None, ADMIN_LABEL, id="admin"),
    pytest.param("dcr", None, UNVERIFIED_LABEL, id="dcr_unverified"),
    pytest.param("dcr", "agent.example.com", UNVERIFIED_LABEL, id="dcr_host_is_not_a_verification"),
    pytest.param("cimd", "agent.example.com", "Verified domain: agent.example.com", id="cimd_verified_domain"),
    pytest.param("cimd", "Agent.Example.COM", "Verified domain: agent.example.com", id="cimd_host_lowercased"),
    pytest.param("cimd", "exämple.com", "Verified domain: xn--exmple-cua.com", id="cimd_idn_host_as_punycode"),
    pytest.param("cimd", None, UNVERIFIED_LABEL, id="cimd_without_host_is_unverified"),
    pytest.param("something_new", None, UNVERIFIED_LABEL, id="unknown_type_is_unverified"),
]


@pytest.mark.parametrize(("registration_type", "host", "expected"), REGISTRATION)
def test_registration_label(registration_type: str, host: str | None, expected: str) -> None:
    client = make_client(first_party=False, registration_type=registration_type, metadata_url_host=host)
    assert registration_label(client) == expected


def test_registration_labels_read_as_expected() -> None:
    assert ADMIN_LABEL == "Registered by the administrator"
    assert UNVERIFIED_LABEL == "Registered dynamically — unverified"


# --- properties ---------------------------------------------------------------------------------------------------

_word = st.text(alphabet="abcdefgh_-", min_size=0, max_size=6)
_scope = st.one_of(
    st.builds(lambda a, r: f"{a}:{r}", _word, _word),
    _word,
    st.sampled_from(["offline_access", "read:a:b", "https://x.example/y", "read:posts", "write:posts", "stats"]),
    st.text(min_size=0, max_size=12),
)


@PROPERTY
@given(scopes=st.lists(_scope, max_size=12), use_descriptions=st.booleans())
def test_C5_property_scopes_never_lost_nor_duplicated(scopes: list[str], use_descriptions: bool) -> None:
    lines = permission_lines(BLOG_API, scopes, use_descriptions=use_descriptions)
    shown = [s for ln in lines for s in ln.scopes]
    assert sorted(shown) == sorted(set(scopes))
    assert all(ln.scopes for ln in lines)


@PROPERTY
@given(scopes=st.lists(_scope, max_size=12), use_descriptions=st.booleans())
def test_C5_property_deterministic_and_first_seen_order(scopes: list[str], use_descriptions: bool) -> None:
    first = permission_lines(BLOG_API, scopes, use_descriptions=use_descriptions)
    assert first == permission_lines(BLOG_API, list(scopes), use_descriptions=use_descriptions)
    firsts = [ln.scopes[0] for ln in first]
    order = list(dict.fromkeys(scopes))
    assert firsts == sorted(firsts, key=order.index)
