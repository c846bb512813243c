"""Pure rules of the webhooks (no I/O): which URLs may receive events, what a grant change announces, and when a
failed delivery is tried again. Table-tested in tests/unit/services/test_webhook_rules.py."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

GRANT_CREATED = "grant.created"
GRANT_EXTENDED = "grant.extended"
GRANT_NARROWED = "grant.narrowed"
GRANT_REVOKED = "grant.revoked"
GRANT_EXPIRED = "grant.expired"
CLIENT_CREATED = "client.created"
CLIENT_DELETED = "client.deleted"
REFRESH_FAMILY_REVOKED = "refresh_family.revoked"

EVENT_TYPES: tuple[str, ...] = (
    GRANT_CREATED,
    GRANT_EXTENDED,
    GRANT_NARROWED,
    GRANT_REVOKED,
    GRANT_EXPIRED,
    CLIENT_CREATED,
    CLIENT_DELETED,
    REFRESH_FAMILY_REVOKED,
)

MAX_URL_LENGTH = 2000
LOOPBACK_NAMES = ("localhost",)


def _loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str, *, allow_http_loopback: bool) -> str | None:
    """Why ``url`` cannot receive deliveries, or None: an absolute https URL with a host, no user info and no
    fragment; http only to a loopback host, and only when the development setting allows it."""
    if not url or len(url) > MAX_URL_LENGTH:
        return f"url must be 1 to {MAX_URL_LENGTH} characters"
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url) or "\\" in url:
        return "url must not contain spaces, control characters or backslashes"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "url is not a valid URL"
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        return "url must be an absolute https URL"
    if parts.username is not None or parts.password is not None:
        return "url must not contain user information"
    if parts.fragment or url.endswith("#"):
        return "url must not contain a fragment"
    if parts.scheme == "http":
        if not _loopback(host):
            return "url must use https (http is accepted only for 127.0.0.1, [::1] or localhost in development)"
        if not allow_http_loopback:
            return "url must use https (http to a loopback host needs CONSENTRY_WEBHOOKS_ALLOW_HTTP_LOOPBACK)"
    return None


def event_types_problem(event_types: Sequence[str]) -> str | None:
    """Why a subscription's list of event types is unusable, or None (at least one, each known, no repeats)."""
    if not event_types:
        return "event_types must name at least one event type"
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        return f"event_types names an unknown event type '{unknown[0][:64]}'; known: {', '.join(EVENT_TYPES)}"
    if len(set(event_types)) != len(event_types):
        return "event_types must not repeat a type"
    return None


@dataclass(frozen=True, kw_only=True)
class GrantState:
    """What a webhook reports of a user grant: its scopes and its end (None: until revoked)."""

    scope: tuple[str, ...]
    expires_at: float | None


def _later(a: float | None, b: float | None) -> bool:
    """``a`` ends later than ``b`` (None: never ends)."""
    if a == b:
        return False
    return a is None or (b is not None and a > b)


def grant_change(before: GrantState, after: GrantState) -> tuple[str, ...]:
    """The events an approval of a live grant announces: ``grant.extended`` when scopes were added or it now ends
    later, ``grant.narrowed`` when scopes were removed or it now ends sooner (both when it does both), none
    when nothing changed."""
    old, new = set(before.scope), set(after.scope)
    wider = bool(new - old) or _later(after.expires_at, before.expires_at)
    narrower = bool(old - new) or _later(before.expires_at, after.expires_at)
    return (GRANT_EXTENDED,) * wider + (GRANT_NARROWED,) * narrower


PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    base: float  # seconds before the first retry
    cap: float  # longest wait between two attempts
    max_attempts: int


def retry_delay(attempts: int, policy: RetryPolicy) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: ``base`` doubled per attempt, at most ``cap``."""
    return float(min(policy.cap, policy.base * 2 ** min(max(attempts - 1, 0), 60)))


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What one attempt's result makes of a delivery."""

    status: str
    next_attempt_at: float


def after_attempt(*, succeeded: bool, attempts: int, now: float, policy: RetryPolicy) -> Outcome:
    """A 2xx answer delivers; otherwise the delivery waits ``retry_delay`` or, after ``max_attempts``, fails."""
    if succeeded:
        return Outcome(status=DELIVERED, next_attempt_at=now)
    if attempts >= policy.max_attempts:
        return Outcome(status=FAILED, next_attempt_at=now)
    return Outcome(status=PENDING, next_attempt_at=now + retry_delay(attempts, policy))
