"""Is a consent screen (or a login confirmation) needed for this authorization request? Pure.

SPEC C1–C11: third-party apps always need the user's grant for what they ask and never skip it;
first-party apps skip consent when the API allows it, but a non-verifiable callback (loopback or
custom scheme) still gets a login confirmation prompt unless turned off per client or tenant.
``prompt=consent`` always asks. The caller turns "required" into ``consent_required`` under ``prompt=none``.
A scope the user holds no permission for (an API that enforces RBAC) is never asked for: it cannot be granted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Prompt(StrEnum):
    NONE = "none"  # nothing to show: issue the code
    CONSENT = "consent"  # the consent screen
    CONFIRM = "confirm"  # the login confirmation prompt (first-party, non-verifiable callback)


@dataclass(frozen=True)
class ConsentInput:
    third_party: bool
    has_api: bool
    api_allows_skip: bool  # skip_consent_for_verifiable_first_party_clients
    requested: frozenset[str]  # API scopes (plus identity scopes shown to third-party apps) after the ceiling
    granted: frozenset[str]  # what the stored user grant already covers
    prompt_consent: bool  # prompt=consent in the request
    callback_verifiable: bool
    skip_confirmation: bool  # client or tenant skip_non_verifiable_callback_uri_confirmation_prompt
    already_answered: bool = False  # the user answered the screen for this very request
    lacking: frozenset[str] = frozenset()  # API scopes the user has no permission for (RBAC): never asked


@dataclass(frozen=True)
class ConsentDecision:
    prompt: Prompt
    missing: frozenset[str]
    reasons: tuple[str, ...]

    @property
    def required(self) -> bool:
        return self.prompt is not Prompt.NONE


def evaluate(inp: ConsentInput) -> ConsentDecision:
    if inp.lacking:
        inp = replace(inp, requested=inp.requested - inp.lacking, lacking=frozenset())
    missing = inp.requested - inp.granted
    if inp.already_answered:
        return ConsentDecision(Prompt.NONE, frozenset(), ("answered for this request",))
    if inp.third_party:
        if inp.prompt_consent:
            return ConsentDecision(Prompt.CONSENT, inp.requested, ("prompt=consent",))
        if missing:
            return ConsentDecision(Prompt.CONSENT, missing, ("third-party application; scopes not yet granted",))
        if not inp.requested and not inp.granted:
            return ConsentDecision(Prompt.CONSENT, frozenset(), ("third-party application; nothing granted yet",))
        return ConsentDecision(Prompt.NONE, frozenset(), ("covered by the user's grant",))
    if inp.prompt_consent:
        return ConsentDecision(Prompt.CONSENT, inp.requested, ("prompt=consent",))
    if inp.has_api and not inp.api_allows_skip and missing:
        return ConsentDecision(Prompt.CONSENT, missing, ("the API does not allow skipping consent",))
    if not inp.callback_verifiable and not inp.skip_confirmation:
        return ConsentDecision(Prompt.CONFIRM, frozenset(), ("non-verifiable callback: confirm the login",))
    return ConsentDecision(Prompt.NONE, frozenset(), ("first-party application",))
