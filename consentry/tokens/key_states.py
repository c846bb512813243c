"""Signing key states and their transitions, as pure functions; ``KeyStore`` applies them in one transaction.

Auth0's model (``GET /api/v2/keys/signing``): ``current`` signs; ``next`` is published but does not sign, so
that every verifier already holds it when a rotation makes it current; ``previous`` keys signed before and
stay published until revoked; ``revoked`` keys are gone from the JWKS for good. Only a previous key can be
revoked: revoking the current one would leave nothing to sign with, revoking the next one would make the
next rotation sign with a key verifiers have not seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

CURRENT, NEXT, PREVIOUS, REVOKED = "current", "next", "previous", "revoked"
STATES = (CURRENT, NEXT, PREVIOUS, REVOKED)
PUBLISHED = frozenset({CURRENT, NEXT, PREVIOUS})


@dataclass(frozen=True)
class KeyView:
    """What the transitions need to know of a key (a ``SigningKey`` row has these attributes)."""

    kid: str
    state: str
    created_at: float
    current_since: float | None = None


@dataclass(frozen=True)
class Change:
    """What to write: new states of existing keys (``kid`` → state) and the states of keys to create, in order."""

    states: dict[str, str] = field(default_factory=dict)
    create: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.states or self.create)


class KeyStateError(ValueError):
    """The requested transition is not allowed from the key's state (a 400 in the Management API)."""


def _oldest(keys: Iterable[KeyView], state: str) -> KeyView | None:
    """The key of ``state`` published longest (by creation, then kid, so the choice is stable)."""
    return min((k for k in keys if k.state == state), key=lambda k: (k.created_at, k.kid), default=None)


def signer(keys: Iterable[KeyView]) -> KeyView | None:
    """The key that signs: the current one (if two were ever current, the one current most recently)."""
    current = [k for k in keys if k.state == CURRENT]
    return max(current, key=lambda k: (k.current_since or 0.0, k.created_at, k.kid), default=None)


def ensure(keys: Sequence[KeyView]) -> Change:
    """Create what is missing so that there is a current and a next key (bootstrap; idempotent).

    A database from before next keys existed gets its next key here, at the first start after the upgrade.
    Without a current key but with a next one (never written by Consentry), the next one is promoted: it is
    already published.
    """
    if any(k.state == CURRENT for k in keys):
        return Change({}, () if any(k.state == NEXT for k in keys) else (NEXT,))
    return _promote_next(keys, {})


def rotate(keys: Sequence[KeyView]) -> Change:
    """The next key (which verifiers have seen) becomes current, current becomes previous, a new next is made.

    Without a next key (only if ``ensure`` never ran) the new current key is created here, unpublished
    until now: the one case where a verifier holding an older JWKS must refetch.
    """
    return _promote_next(keys, {k.kid: PREVIOUS for k in keys if k.state == CURRENT})


def _promote_next(keys: Sequence[KeyView], states: dict[str, str]) -> Change:
    """``states`` plus: the oldest next key becomes current (or a current key is created), and a next key is
    created when none is left."""
    nexts = [k for k in keys if k.state == NEXT]
    promoted = _oldest(nexts, NEXT)
    create: list[str] = []
    if promoted is None:
        create.append(CURRENT)
    else:
        states = {**states, promoted.kid: CURRENT}
        nexts.remove(promoted)
    if not nexts:
        create.append(NEXT)
    return Change(states, tuple(create))


def revoke(key: KeyView) -> Change:
    """Revoke a previous key; the current and next keys cannot be revoked (rotate first), as in Auth0."""
    if key.state == CURRENT:
        raise KeyStateError("The current signing key cannot be revoked; rotate the keys first.")
    if key.state == NEXT:
        raise KeyStateError("The next signing key cannot be revoked; it becomes current at the next rotation.")
    if key.state == REVOKED:
        raise KeyStateError("The signing key is already revoked.")
    if key.state != PREVIOUS:
        raise KeyStateError("The signing key cannot be revoked in its current state.")
    return Change({key.kid: REVOKED})


def published(keys: Iterable[KeyView]) -> list[KeyView]:
    """The keys of the JWKS in their order: current, next, then previous keys, most recently current first."""
    rank = {CURRENT: 0, NEXT: 1, PREVIOUS: 2}
    chosen = [k for k in keys if k.state in PUBLISHED]
    return sorted(chosen, key=lambda k: (rank[k.state], -(k.current_since or k.created_at), k.kid))
