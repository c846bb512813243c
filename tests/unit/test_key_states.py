"""Signing key states (consentry.tokens.key_states): bootstrap, rotation, revocation, the signer and the JWKS."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.tokens import key_states as ks
from consentry.tokens.key_states import CURRENT, NEXT, PREVIOUS, REVOKED, Change, KeyStateError, KeyView

PROPERTY = settings(database=None, deadline=None, max_examples=300)


def k(kid: str, state: str, created: float = 0.0, since: float | None = None) -> KeyView:
    return KeyView(kid, state, created, since)


def apply(keys: list[KeyView], change: Change, now: float = 100.0, prefix: str = "new") -> list[KeyView]:
    """What the KeyStore writes for ``change``, as views (new keys are named new0, new1, ... after ``prefix``)."""
    out = []
    for key in keys:
        state = change.states.get(key.kid, key.state)
        since = now if state == CURRENT and key.state != CURRENT else key.current_since
        out.append(KeyView(key.kid, state, key.created_at, since))
    out += [KeyView(f"{prefix}{i}", s, now, now if s == CURRENT else None) for i, s in enumerate(change.create)]
    return out


def states(keys: list[KeyView]) -> dict[str, str]:
    return {key.kid: key.state for key in keys}


# ensure: (keys before, change expected)
ENSURE = [
    pytest.param([], Change({}, (CURRENT, NEXT)), id="empty_database_gets_a_current_and_a_next_key"),
    pytest.param([k("a", CURRENT)], Change({}, (NEXT,)), id="database_from_before_next_keys_gets_its_next_key"),
    pytest.param([k("a", CURRENT), k("b", PREVIOUS)], Change({}, (NEXT,)), id="previous_keys_are_not_next_keys"),
    pytest.param([k("a", CURRENT), k("b", NEXT)], Change(), id="complete_set_is_left_alone"),
    pytest.param([k("b", NEXT, 1), k("c", NEXT, 2)], Change({"b": CURRENT}), id="next_without_current_promotes_oldest"),
    pytest.param([k("b", NEXT)], Change({"b": CURRENT}, (NEXT,)), id="only_a_next_key_promotes_it_and_makes_a_new_one"),
    pytest.param([k("r", REVOKED)], Change({}, (CURRENT, NEXT)), id="revoked_keys_count_for_nothing"),
]


@pytest.mark.parametrize(("keys", "expected"), ENSURE)
def test_ensure(keys: list[KeyView], expected: Change) -> None:
    change = ks.ensure(keys)
    assert change == expected
    assert not ks.ensure(apply(keys, change)), "ensure is idempotent"


# rotate: (keys before, states after; new keys are new0, new1, ...)
ROTATE = [
    pytest.param(
        [k("a", CURRENT, 0, 0), k("b", NEXT, 1)],
        {"a": PREVIOUS, "b": CURRENT, "new0": NEXT},
        id="next_becomes_current_current_becomes_previous_new_next",
    ),
    pytest.param(
        [k("p", PREVIOUS, 0, 0), k("a", CURRENT, 1, 1), k("b", NEXT, 2)],
        {"p": PREVIOUS, "a": PREVIOUS, "b": CURRENT, "new0": NEXT},
        id="previous_keys_stay_until_revoked",
    ),
    pytest.param(
        [k("a", CURRENT, 0, 0)],
        {"a": PREVIOUS, "new0": CURRENT, "new1": NEXT},
        id="without_a_next_key_the_new_current_is_created_on_the_spot",
    ),
    pytest.param(
        [k("a", CURRENT, 0, 0), k("c", NEXT, 5), k("b", NEXT, 2)],
        {"a": PREVIOUS, "b": CURRENT, "c": NEXT},
        id="two_next_keys_promote_the_oldest_and_keep_the_other",
    ),
    pytest.param(
        [k("a", CURRENT, 0, 0), k("a2", CURRENT, 1, 1), k("b", NEXT, 2)],
        {"a": PREVIOUS, "a2": PREVIOUS, "b": CURRENT, "new0": NEXT},
        id="two_current_keys_both_retire",
    ),
    pytest.param([], {"new0": CURRENT, "new1": NEXT}, id="no_keys_at_all"),
]


@pytest.mark.parametrize(("keys", "after"), ROTATE)
def test_rotate(keys: list[KeyView], after: dict[str, str]) -> None:
    assert states(apply(keys, ks.rotate(keys))) == after


def test_rotation_signs_with_the_key_published_before_it() -> None:
    keys = apply([], ks.ensure([]), now=0, prefix="boot")
    for now in range(1, 6):
        jwks_before = {key.kid for key in ks.published(keys)}
        keys = apply(keys, ks.rotate(keys), now=float(now), prefix=f"r{now}-")
        signer = ks.signer(keys)
        assert signer is not None and signer.kid in jwks_before
        assert {key.kid for key in ks.published(keys)} > jwks_before - {signer.kid}, "nothing leaves the JWKS"


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (CURRENT, "The current signing key cannot be revoked; rotate the keys first."),
        (NEXT, "The next signing key cannot be revoked; it becomes current at the next rotation."),
        (REVOKED, "The signing key is already revoked."),
        ("unknown", "The signing key cannot be revoked in its current state."),
    ],
)
def test_revoke_is_refused_for_every_state_but_previous(state: str, message: str) -> None:
    with pytest.raises(KeyStateError) as raised:
        ks.revoke(k("a", state))
    assert str(raised.value) == message


def test_revoke_a_previous_key() -> None:
    assert ks.revoke(k("p", PREVIOUS)) == Change({"p": REVOKED})


@pytest.mark.parametrize(
    ("keys", "kid"),
    [
        pytest.param([k("a", CURRENT, 0, 5), k("b", NEXT, 1)], "a", id="the_current_key"),
        pytest.param([k("a", CURRENT, 0, 5), k("a2", CURRENT, 1, 7)], "a2", id="of_two_current_the_latest"),
        pytest.param([k("b", NEXT), k("p", PREVIOUS, 0, 1)], None, id="never_a_next_or_previous_key"),
    ],
)
def test_signer(keys: list[KeyView], kid: str | None) -> None:
    signer = ks.signer(keys)
    assert (signer.kid if signer else None) == kid


def test_published_order_and_content() -> None:
    keys = [
        k("p1", PREVIOUS, 0, 1),
        k("r", REVOKED, 0, 2),
        k("b", NEXT, 5),
        k("p2", PREVIOUS, 0, 3),
        k("a", CURRENT, 4, 4),
    ]
    assert [key.kid for key in ks.published(keys)] == ["a", "b", "p2", "p1"]


OPS = st.lists(st.sampled_from(["rotate", "revoke_oldest_previous", "revoke_newest_previous", "ensure"]), max_size=30)


@PROPERTY
@given(OPS)
def test_any_sequence_keeps_one_current_and_one_next(ops: list[str]) -> None:
    """Whatever an admin does, exactly one key signs, one more is published to sign next, and the signer after
    a rotation was published before it."""
    keys = apply([], ks.ensure([]), now=0, prefix="boot")
    for step, op in enumerate(ops, start=1):
        before = {key.kid for key in ks.published(keys)}
        if op == "rotate":
            change = ks.rotate(keys)
        elif op == "ensure":
            change = ks.ensure(keys)
        else:
            previous = sorted((key for key in keys if key.state == PREVIOUS), key=lambda key: key.current_since or 0)
            if not previous:
                continue
            change = ks.revoke(previous[0] if op == "revoke_oldest_previous" else previous[-1])
        keys = apply(keys, change, now=float(step), prefix=f"s{step}-")
        assert len({key.kid for key in keys}) == len(keys)
        assert sum(key.state == CURRENT for key in keys) == 1
        assert sum(key.state == NEXT for key in keys) == 1
        signer = ks.signer(keys)
        assert signer is not None and signer.kid in before
