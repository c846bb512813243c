"""``consent.policy.evaluate``: when the consent screen or the login confirmation appears (SPEC C3, C7, C10, T5).

One table row per rule, then hypothesis properties over every input combination.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.consent.policy import ConsentDecision, ConsentInput, Prompt, evaluate

PROPERTY = settings(database=None, deadline=None, max_examples=200)
READ, WRITE = "read:posts", "write:posts"

BASE = ConsentInput(
    third_party=False,
    has_api=True,
    api_allows_skip=False,
    requested=frozenset({READ, WRITE}),
    granted=frozenset(),
    prompt_consent=False,
    callback_verifiable=True,
    skip_confirmation=False,
)


def _in(**kw: object) -> ConsentInput:
    return replace(BASE, **kw)  # type: ignore[arg-type]


BOTH = frozenset({READ, WRITE})
ONLY_READ = frozenset({READ})

# (input, expected prompt, expected missing)
TABLE = [
    # T5/C1: third-party apps always need the user's grant
    pytest.param(_in(third_party=True), Prompt.CONSENT, BOTH, id="T5_third_party_without_grant_asks"),
    pytest.param(
        _in(third_party=True, api_allows_skip=True), Prompt.CONSENT, BOTH, id="T5_third_party_ignores_api_skip_setting"
    ),
    pytest.param(
        _in(third_party=True, api_allows_skip=True, skip_confirmation=True),
        Prompt.CONSENT,
        BOTH,
        id="T5_third_party_ignores_every_skip_setting",
    ),
    pytest.param(
        _in(third_party=True, requested=frozenset()),
        Prompt.CONSENT,
        frozenset(),
        id="T5_third_party_nothing_requested_nothing_granted_asks",
    ),
    # C3: a grant covering the request skips the screen; more scopes ask for the difference
    pytest.param(_in(third_party=True, granted=BOTH), Prompt.NONE, frozenset(), id="C3_grant_covers_request"),
    pytest.param(
        _in(third_party=True, granted=BOTH | {"delete:posts"}),
        Prompt.NONE,
        frozenset(),
        id="C3_grant_wider_than_request",
    ),
    pytest.param(
        _in(third_party=True, granted=ONLY_READ),
        Prompt.CONSENT,
        frozenset({WRITE}),
        id="C3_asks_only_for_the_difference",
    ),
    pytest.param(
        _in(third_party=True, requested=frozenset(), granted=ONLY_READ),
        Prompt.NONE,
        frozenset(),
        id="C3_empty_request_under_existing_grant",
    ),
    # C10: prompt=consent always asks, for everything requested
    pytest.param(
        _in(third_party=True, granted=BOTH, prompt_consent=True),
        Prompt.CONSENT,
        BOTH,
        id="C10_third_party_prompt_consent_with_full_grant",
    ),
    pytest.param(
        _in(prompt_consent=True, api_allows_skip=True),
        Prompt.CONSENT,
        BOTH,
        id="C10_first_party_prompt_consent_beats_api_skip",
    ),
    pytest.param(
        _in(prompt_consent=True, granted=BOTH),
        Prompt.CONSENT,
        BOTH,
        id="C10_first_party_prompt_consent_with_full_grant",
    ),
    pytest.param(
        _in(prompt_consent=True, callback_verifiable=False),
        Prompt.CONSENT,
        BOTH,
        id="C10_prompt_consent_replaces_confirmation",
    ),
    pytest.param(
        _in(third_party=True, prompt_consent=True, already_answered=True),
        Prompt.NONE,
        frozenset(),
        id="C10_answered_for_this_request_does_not_loop",
    ),
    # C7: first-party apps skip consent when the API allows it, except on non-verifiable callbacks
    pytest.param(_in(api_allows_skip=True), Prompt.NONE, frozenset(), id="C7_first_party_skip_verifiable_callback"),
    pytest.param(
        _in(api_allows_skip=True, callback_verifiable=False),
        Prompt.CONFIRM,
        frozenset(),
        id="C7_first_party_skip_non_verifiable_callback_confirms",
    ),
    pytest.param(
        _in(api_allows_skip=True, callback_verifiable=False, skip_confirmation=True),
        Prompt.NONE,
        frozenset(),
        id="C7_confirmation_turned_off",
    ),
    pytest.param(_in(), Prompt.CONSENT, BOTH, id="C7_first_party_api_without_skip_asks"),
    pytest.param(_in(granted=BOTH), Prompt.NONE, frozenset(), id="C7_first_party_without_skip_covered_by_grant"),
    pytest.param(
        _in(granted=BOTH, callback_verifiable=False),
        Prompt.CONFIRM,
        frozenset(),
        id="C7_first_party_covered_by_grant_non_verifiable_confirms",
    ),
    pytest.param(
        _in(granted=ONLY_READ), Prompt.CONSENT, frozenset({WRITE}), id="C7_first_party_without_skip_asks_for_difference"
    ),
    pytest.param(
        _in(has_api=False, requested=frozenset({"openid"})),
        Prompt.NONE,
        frozenset(),
        id="C7_first_party_login_without_api",
    ),
    pytest.param(
        _in(has_api=False, callback_verifiable=False),
        Prompt.CONFIRM,
        frozenset(),
        id="C7_first_party_login_without_api_non_verifiable_confirms",
    ),
    pytest.param(
        _in(callback_verifiable=False, already_answered=True),
        Prompt.NONE,
        frozenset(),
        id="C7_confirmation_answered_for_this_request",
    ),
]


@pytest.mark.parametrize(("inp", "prompt", "missing"), TABLE)
def test_evaluate(inp: ConsentInput, prompt: Prompt, missing: frozenset[str]) -> None:
    decision = evaluate(inp)
    assert decision.prompt is prompt
    assert decision.missing == missing
    assert decision.required is (prompt is not Prompt.NONE)
    assert decision.reasons, "every decision says why"


def test_C7_third_party_never_gets_the_confirmation_prompt() -> None:
    """For third-party apps the consent screen (which shows the redirect host) is the only prompt."""
    inp = _in(third_party=True, granted=BOTH, callback_verifiable=False)
    assert evaluate(inp).prompt is Prompt.NONE
    assert evaluate(replace(inp, granted=ONLY_READ)).prompt is Prompt.CONSENT


def test_C10_prompt_consent_reason_is_named() -> None:
    assert evaluate(_in(prompt_consent=True)).reasons == ("prompt=consent",)


# --- properties ----------------------------------------------------------------------------------------------------

SCOPES = st.frozensets(st.sampled_from(["read:posts", "write:posts", "delete:posts", "openid", "offline_access"]))
INPUTS = st.builds(
    ConsentInput,
    third_party=st.booleans(),
    has_api=st.booleans(),
    api_allows_skip=st.booleans(),
    requested=SCOPES,
    granted=SCOPES,
    prompt_consent=st.booleans(),
    callback_verifiable=st.booleans(),
    skip_confirmation=st.booleans(),
    already_answered=st.booleans(),
)


@PROPERTY
@given(INPUTS)
def test_missing_is_a_subset_of_requested(inp: ConsentInput) -> None:
    decision = evaluate(inp)
    assert decision.missing <= inp.requested
    assert isinstance(decision, ConsentDecision) and decision.reasons


@PROPERTY
@given(INPUTS)
def test_T5_third_party_skips_only_when_the_grant_covers_everything(inp: ConsentInput) -> None:
    inp = replace(inp, third_party=True, already_answered=False)
    decision = evaluate(inp)
    covered = inp.requested <= inp.granted and bool(inp.requested or inp.granted)
    if not decision.required:
        assert covered and not inp.prompt_consent
    else:
        assert decision.prompt is Prompt.CONSENT, "third-party apps get the consent screen, not the confirmation"
    if covered and not inp.prompt_consent:
        assert not decision.required


@PROPERTY
@given(INPUTS)
def test_C10_prompt_consent_always_asks_unless_answered(inp: ConsentInput) -> None:
    inp = replace(inp, prompt_consent=True)
    decision = evaluate(inp)
    if inp.already_answered:
        assert not decision.required
    else:
        assert decision.prompt is Prompt.CONSENT and decision.missing == inp.requested


@PROPERTY
@given(INPUTS)
def test_C7_first_party_with_skip_and_verifiable_callback_never_asks(inp: ConsentInput) -> None:
    inp = replace(inp, third_party=False, api_allows_skip=True, callback_verifiable=True, prompt_consent=False)
    assert evaluate(inp).prompt is Prompt.NONE


@PROPERTY
@given(INPUTS)
def test_C7_non_verifiable_first_party_is_never_silent_without_an_opt_out(inp: ConsentInput) -> None:
    inp = replace(inp, third_party=False, callback_verifiable=False, skip_confirmation=False, already_answered=False)
    assert evaluate(inp).required


@PROPERTY
@given(INPUTS)
def test_answered_requests_never_ask_again(inp: ConsentInput) -> None:
    decision = evaluate(replace(inp, already_answered=True))
    assert decision.prompt is Prompt.NONE and decision.missing == frozenset()


@PROPERTY
@given(INPUTS, SCOPES)
def test_C3_a_wider_grant_never_asks_for_more(inp: ConsentInput, extra: frozenset[str]) -> None:
    """Granting more can only shrink what is missing (monotonic)."""
    before, after = evaluate(inp), evaluate(replace(inp, granted=inp.granted | extra))
    if before.prompt is Prompt.CONSENT and after.prompt is Prompt.CONSENT:
        assert after.missing <= before.missing
