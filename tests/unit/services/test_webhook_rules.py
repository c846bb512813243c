"""The pure webhook rules, one row per rule: receiver URLs, event types, grant changes, retry backoff; and the
signature against the reference implementation (the ``standardwebhooks`` package)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from consentry.services import webhook_rules as rules
from consentry.services import webhook_signing as signing
from consentry.services.webhook_rules import GrantState, RetryPolicy


@pytest.mark.parametrize(
    ("url", "allow_http_loopback", "problem"),
    [
        ("https://hooks.example.com/consentry", False, None),
        ("https://hooks.example.com:8443/x?tenant=1", False, None),
        ("http://hooks.example.com/x", True, "url must use https (http is accepted only for"),
        ("http://127.0.0.1:9000/hook", False, "needs CONSENTRY_WEBHOOKS_ALLOW_HTTP_LOOPBACK"),
        ("http://127.0.0.1:9000/hook", True, None),
        ("http://localhost/hook", True, None),
        ("http://[::1]:8080/hook", True, None),
        ("http://10.0.0.1/hook", True, "url must use https (http is accepted only for"),
        ("ftp://hooks.example.com/", False, "url must be an absolute https URL"),
        ("/relative", False, "url must be an absolute https URL"),
        ("https://user:pw@hooks.example.com/", False, "url must not contain user information"),
        ("https://hooks.example.com/#frag", False, "url must not contain a fragment"),
        ("https://hooks.example.com/a b", False, "url must not contain spaces"),
        ("https://hooks.example.com:99999/", False, "url is not a valid URL"),
        ("", False, "url must be 1 to 2000 characters"),
        ("https://h.example.com/" + "a" * 2000, False, "url must be 1 to 2000 characters"),
    ],
)
def test_url_problem(url: str, allow_http_loopback: bool, problem: str | None) -> None:
    found = rules.url_problem(url, allow_http_loopback=allow_http_loopback)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("types", "problem"),
    [
        (["grant.created"], None),
        (list(rules.EVENT_TYPES), None),
        ([], "at least one"),
        (["grant.created", "grant.created"], "must not repeat"),
        (["grant.deleted"], "unknown event type 'grant.deleted'"),
    ],
)
def test_event_types_problem(types: list[str], problem: str | None) -> None:
    found = rules.event_types_problem(types)
    assert (found is None) if problem is None else (found is not None and problem in found)


HOUR = 3600.0


@pytest.mark.parametrize(
    ("before", "after", "events"),
    [
        ((("a",), None), (("a",), None), ()),
        ((("a",), HOUR), (("a",), HOUR), ()),
        ((("a",), None), (("a", "b"), None), ("grant.extended",)),
        ((("a",), HOUR), (("a",), 2 * HOUR), ("grant.extended",)),
        ((("a",), HOUR), (("a",), None), ("grant.extended",)),  # until revoked ends later than any time
        ((("a",), 2 * HOUR), (("a",), HOUR), ("grant.narrowed",)),
        ((("a",), None), (("a",), HOUR), ("grant.narrowed",)),
        ((("a", "b"), None), (("a",), None), ("grant.narrowed",)),
        ((("a",), 2 * HOUR), (("a", "b"), HOUR), ("grant.extended", "grant.narrowed")),
    ],
)
def test_grant_change(
    before: tuple[tuple[str, ...], float | None], after: tuple[tuple[str, ...], float | None], events: tuple[str, ...]
) -> None:
    old = GrantState(scope=before[0], expires_at=before[1])
    new = GrantState(scope=after[0], expires_at=after[1])
    assert rules.grant_change(old, new) == events


POLICY = RetryPolicy(base=5.0, cap=60.0, max_attempts=4)


@pytest.mark.parametrize(("attempts", "delay"), [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (5, 60.0), (500, 60.0)])
def test_retry_delay_doubles_up_to_the_cap(attempts: int, delay: float) -> None:
    assert rules.retry_delay(attempts, POLICY) == delay


@pytest.mark.parametrize(
    ("succeeded", "attempts", "status", "next_at"),
    [
        (True, 1, "delivered", 100.0),
        (True, 4, "delivered", 100.0),
        (False, 1, "pending", 105.0),
        (False, 3, "pending", 120.0),
        (False, 4, "failed", 100.0),
    ],
)
def test_after_attempt(succeeded: bool, attempts: int, status: str, next_at: float) -> None:
    outcome = rules.after_attempt(succeeded=succeeded, attempts=attempts, now=100.0, policy=POLICY)
    assert (outcome.status, outcome.next_attempt_at) == (status, next_at)


def test_signature_matches_the_reference_implementation_and_verifies() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    body = b'{"type":"grant.created","data":{}}'
    now = int(datetime.now(UTC).timestamp())
    ours = signing.signature(secret, "msg_1", now, body)
    reference = Webhook(secret).sign("msg_1", datetime.fromtimestamp(now, UTC), body.decode())
    assert ours == reference and ours.startswith("v1,")
    assert Webhook(secret).verify(body, signing.headers(secret, "msg_1", now, body)) == {
        "type": "grant.created",
        "data": {},
    }


def test_sealed_secret_needs_the_same_key_encryption_key() -> None:
    sealed = signing.seal(b"kek-one", "whsec_abc")
    assert "whsec_abc" not in sealed and signing.unseal(b"kek-one", sealed) == "whsec_abc"
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidToken
        signing.unseal(b"kek-two", sealed)
