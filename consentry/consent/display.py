"""What the consent screen says (SPEC C4, C5, consent screen content). Pure functions, no I/O.

Scopes of the form ``action:resource`` are grouped by resource, one line per resource
(``read:posts write:posts`` -> "Posts: read and write your posts"). Any other scope is shown by its
name. With the tenant flag ``use_scope_descriptions_for_consent`` every scope gets its own line with the
API's description of it instead. No line ever drops a scope: the union of ``PermissionLine.scopes``
is exactly the set of scopes passed in, so what the user sees is what gets granted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from consentry.config_records import ApiInfo, ClientInfo

# One word-like part: letters, digits, "_" and "-", with at least one letter or digit. Anything else
# (URL-style scopes such as ``https://api.example.com/read``, dots, slashes) is shown by name: the
# sentence "https your //api.example.com/read" would mislead more than the raw name.
_PART = re.compile(r"[\w-]+")

IDENTITY_SCOPES: dict[str, tuple[str, str]] = {
    "openid": ("Your identity", "sign you in and know who you are"),
    "profile": ("Your profile", "name, nickname and picture"),
    "email": ("Your email address", "the address and whether it is verified"),
    "address": ("Your postal address", ""),
    "phone": ("Your phone number", "the number and whether it is verified"),
}

ADMIN_LABEL = "Registered by the administrator"
UNVERIFIED_LABEL = "Registered dynamically — unverified"


@dataclass(frozen=True)
class PermissionLine:
    """One line of the consent screen: ``title`` (and ``text`` when not empty) covering ``scopes``."""

    title: str
    text: str
    scopes: tuple[str, ...]
    optional: bool


def _words(part: str) -> str:
    """``blog_posts`` / ``blog-posts`` -> ``blog posts``."""
    return " ".join(re.split(r"[_\-\s]+", part)).strip()


def _parse(scope: str) -> tuple[str, str] | None:
    """(action, resource) for an ``action:resource`` scope, else None."""
    parts = scope.split(":")
    if len(parts) != 2:
        return None
    for part in parts:
        if not _PART.fullmatch(part) or not any(c.isalnum() for c in part):
            return None
    return parts[0], parts[1]


def humanize(part: str) -> str:
    """A resource as a title: ``blog_posts`` -> ``Blog posts`` (only the first letter changes case)."""
    words = _words(part)
    return words[:1].upper() + words[1:]


def join_english(items: Iterable[str]) -> str:
    """``a`` / ``a and b`` / ``a, b and c``."""
    seq = list(items)
    if len(seq) <= 1:
        return "".join(seq)
    return f"{', '.join(seq[:-1])} and {seq[-1]}"


def _is_optional(scopes: Iterable[str], defs: dict[str, bool]) -> bool:
    return all(defs.get(s, False) for s in scopes)


def permission_lines(api: ApiInfo, scopes: Iterable[str], *, use_descriptions: bool) -> list[PermissionLine]:
    """The consent lines for the API scopes requested of one API, in first-seen order (SPEC C5)."""
    requested = list(dict.fromkeys(scopes))
    optional = {d.value: d.optional for d in api.scopes}
    if use_descriptions:
        descriptions = {d.value: d.description.strip() for d in api.scopes}
        return [PermissionLine(descriptions.get(s) or s, "", (s,), _is_optional((s,), optional)) for s in requested]
    # Each entry is a resource group (key = kind + resource) or a scope shown by name (key = None + scope).
    # Optional scopes of a resource get a line of their own, so the user can untick just them.
    groups: dict[tuple[str | None, str], list[tuple[str, str]]] = {}
    for s in requested:
        parsed = _parse(s)
        kind: str | None = "optional" if optional.get(s) else "resource"
        key: tuple[str | None, str] = (None, s) if parsed is None else (kind, parsed[1])
        groups.setdefault(key, []).append((s, parsed[0] if parsed else ""))
    lines: list[PermissionLine] = []
    for (kind, name), members in groups.items():
        members_scopes = tuple(s for s, _ in members)
        if kind is None:
            lines.append(PermissionLine(name, "", members_scopes, _is_optional(members_scopes, optional)))
            continue
        actions = join_english(dict.fromkeys(_words(a) for _, a in members))
        text = f"{actions} your {_words(name)}"
        lines.append(PermissionLine(humanize(name), text, members_scopes, _is_optional(members_scopes, optional)))
    return lines


def identity_lines(scopes: Iterable[str]) -> list[PermissionLine]:
    """Lines for the OIDC identity scopes requested (SPEC C4 with ``third_party_oidc_identity``).

    Other scopes are ignored: API scopes go through :func:`permission_lines`, ``offline_access`` gets
    :func:`offline_access_note`. Lines follow the fixed order of ``IDENTITY_SCOPES`` (identity first).
    """
    wanted = set(scopes)
    return [PermissionLine(title, text, (s,), False) for s, (title, text) in IDENTITY_SCOPES.items() if s in wanted]


def offline_access_note() -> str:
    """Shown whenever ``offline_access`` is requested: refresh tokens outlive the visit."""
    return "Keep access when you are not using the app (long-lived access, for as long as you choose below)"


def _display_host(host: str) -> str:
    """Punycode for internationalised hosts, so look-alike letters cannot pose as a known domain."""
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host.lower()


def registration_label(client: ClientInfo) -> str:
    """How the application was registered; anything not vouched for reads as unverified."""
    if client.registration_type == "admin":
        return ADMIN_LABEL
    if client.registration_type == "cimd" and client.metadata_url_host:
        return f"Verified domain: {_display_host(client.metadata_url_host)}"
    return UNVERIFIED_LABEL
