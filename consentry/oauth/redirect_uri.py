"""Redirect URIs: what may be registered, exact matching, and which callbacks are verifiable.

RFC 9700 §4.1.3: redirect URIs are compared as exact strings; no wildcards, no fragments.
RFC 8252 §7.3: loopback ``http`` redirects are for native apps; §7.1: private-use schemes contain a dot.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
FORBIDDEN_SCHEMES = {"javascript", "data", "file", "vbscript", "about", "blob", "filesystem", "ftp", "ws", "wss"}


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def callback_problem(uri: str, *, native: bool, dcr: bool = False) -> str | None:
    """Why ``uri`` may not be registered as a callback, or None when it may.

    Admin-registered clients may use any http(s) URL (first-party development setups use
    ``http://localhost``); ``dcr`` applies the stricter rules of SPEC T9.
    """
    if not isinstance(uri, str) or not uri or len(uri) > 2000 or uri != uri.strip():
        return "must be a non-empty URL without surrounding spaces"
    # Unicode spaces, C1 controls and format characters (U+202E right-to-left override, zero-width
    # space) too: they would make the redirect host shown on the consent screen lie.
    if any(c.isspace() or not c.isprintable() for c in uri):
        return "must not contain spaces or control characters"
    if "*" in uri:
        return "wildcards are not allowed"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a valid URL"
    scheme = parts.scheme.lower()
    if not scheme:
        return "must be an absolute URL"
    if "#" in uri:
        return "must not contain a fragment"
    if scheme in FORBIDDEN_SCHEMES:
        return f"scheme '{scheme}' is not allowed"
    if scheme in ("http", "https"):
        if not parts.hostname:
            return "must include a host"
        if parts.username is not None or parts.password is not None:
            return "must not contain user information"
        if scheme == "http" and dcr and not (native and _is_loopback(parts.hostname)):
            return "must use https (plain http is allowed only on a loopback host for native apps)"
        return None
    if dcr and not native:
        return "custom schemes are allowed only for native applications"
    if "." not in scheme:
        return "custom schemes must be in reverse-DNS form (e.g. com.example.app:/callback)"
    return None


def is_registered(redirect_uri: str, callbacks: tuple[str, ...] | list[str]) -> bool:
    """Exact, case-sensitive string comparison (no normalisation)."""
    return redirect_uri in callbacks


def _may_be_local(host: str | None) -> bool:
    """Broader than ``_is_loopback``, for erring towards the confirmation prompt: ``localhost.``,
    ``*.localhost`` (RFC 6761 §6.3), the unspecified address and IPv4-mapped loopback all reach this device."""
    if not host:
        return True
    host = host.lower().rstrip(".")
    if _is_loopback(host) or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_unspecified or bool(mapped and (mapped.is_loopback or mapped.is_unspecified))


def is_verifiable(redirect_uri: str) -> bool:
    """False for loopback hosts and custom schemes: another app on the device could claim them (SPEC C7)."""
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https"):
        return False
    return not _may_be_local(parts.hostname)


def host_of(redirect_uri: str) -> str:
    parts = urlsplit(redirect_uri)
    return parts.netloc or f"{parts.scheme}:"
