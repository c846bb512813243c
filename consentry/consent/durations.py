"""How long a user's consent lasts: the choices the consent screen offers and the one ticked by default. Pure.

Users give an app access for a while ("1 hour", "1 day", "30 days") or until they revoke it. Durations are
seconds; ``UNTIL_REVOKED`` (0) is the grant that never expires. The admin sets the choices and the default per
API (``consent_durations``, ``default_consent_duration``) and the default per kind of app (tenant
``default_consent_durations``: ``agent``, ``spa``, ``native``, ``regular_web``, ``non_interactive``).
Precedence for the default: the tenant's entry for the app's kind (``agent`` first for agents), then the API's,
then the tenant's ``default`` entry, then "until revoked". An agent (registered by DCR or CIMD, or marked
``is_agent``) whose default would never expire gets ``AGENT_DEFAULT`` (or the tenant's ``agent`` entry) instead:
agents get bounded access unless the user chooses otherwise. The default is always one of the choices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

UNTIL_REVOKED = 0
HOUR, DAY = 3600, 86400
BUILTIN_CHOICES: tuple[int, ...] = (HOUR, DAY, 30 * DAY, UNTIL_REVOKED)
AGENT_DEFAULT = DAY
MIN_DURATION = 60
MAX_DURATION = 157_788_000  # five years, the longest refresh-token family
MAX_CHOICES = 10
APP_KINDS = ("agent", "spa", "native", "regular_web", "non_interactive", "default")


def is_duration(value: Any) -> bool:
    """A usable stored duration: 0 (until revoked) or whole seconds in MIN_DURATION..MAX_DURATION."""
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return value == UNTIL_REVOKED or MIN_DURATION <= value <= MAX_DURATION


def checked(value: int) -> int:
    """A duration as written through the Management API (pydantic validator): refused unless usable."""
    if not is_duration(value):
        raise ValueError(f"must be 0 (until revoked) or {MIN_DURATION}..{MAX_DURATION} seconds")
    return value


def choices_problem(values: Sequence[Any]) -> str | None:
    """Why a list of duration choices cannot be stored (None: it can)."""
    if not values:
        return "must offer at least one duration"
    if len(values) > MAX_CHOICES:
        return f"must offer at most {MAX_CHOICES} durations"
    if not all(is_duration(v) for v in values):
        return f"each duration is 0 (until revoked) or {MIN_DURATION}..{MAX_DURATION} seconds"
    if len(set(values)) != len(values):
        return "durations must not repeat"
    return None


def stored_choices(value: Any) -> tuple[int, ...] | None:
    """Choices read from storage, or None when absent or unusable (a legacy row): the next level applies."""
    if not isinstance(value, list | tuple) or choices_problem(list(value)):
        return None
    return tuple(value)


@dataclass(frozen=True)
class DurationInput:
    api_choices: tuple[int, ...] | None  # the API's consent_durations
    api_default: int | None  # the API's default_consent_duration
    tenant_choices: tuple[int, ...] | None  # the tenant's consent_durations
    tenant_defaults: Mapping[str, Any]  # the tenant's default_consent_durations, by kind of app
    app_type: str | None
    agent: bool


@dataclass(frozen=True)
class DurationOffer:
    choices: tuple[int, ...]  # longest last, "until revoked" at the end
    default: int

    def pick(self, submitted: str | None) -> int | None:
        """The duration the user chose (the default when the form sent none); None: not one of the choices."""
        if submitted is None or submitted == "":
            return self.default
        if not submitted.isdigit() or len(submitted) > 12:
            return None
        value = int(submitted)
        return value if value in self.choices else None


def _ordered(choices: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(c for c in choices if c)) + ((UNTIL_REVOKED,) if UNTIL_REVOKED in choices else ())


def _first_set(*values: Any) -> int | None:
    return next((v for v in values if is_duration(v)), None)


def _snap(value: int, choices: tuple[int, ...]) -> int:
    """``value`` if offered, else the longest bounded choice not above it, else the shortest choice."""
    if value in choices:
        return value
    bounded = [c for c in choices if c]
    if value == UNTIL_REVOKED:
        return max(bounded) if bounded else choices[0]
    below = [c for c in bounded if c <= value]
    return max(below) if below else choices[0]


def offer(inp: DurationInput) -> DurationOffer:
    """The choices and the default the consent screen shows for this app and API."""
    choices = _ordered(inp.api_choices or inp.tenant_choices or BUILTIN_CHOICES)
    defaults = inp.tenant_defaults
    kinds = (["agent"] if inp.agent else []) + ([inp.app_type] if inp.app_type else [])
    chosen = _first_set(*(defaults.get(k) for k in kinds), inp.api_default, defaults.get("default"))
    default = UNTIL_REVOKED if chosen is None else chosen
    if inp.agent and default == UNTIL_REVOKED:
        default = _first_set(defaults.get("agent")) or AGENT_DEFAULT
    return DurationOffer(choices, _snap(default, choices))


def expires_at(now: float, duration: int) -> float | None:
    """When a grant approved now for ``duration`` ends (None: until revoked)."""
    return None if duration == UNTIL_REVOKED else now + duration


def label(duration: int) -> str:
    """``3600`` -> "1 hour", ``2592000`` -> "30 days", 0 -> "Until I revoke it"."""
    if duration == UNTIL_REVOKED:
        return "Until I revoke it"
    for seconds, unit in ((DAY, "day"), (HOUR, "hour"), (60, "minute")):
        if duration % seconds == 0:
            n = duration // seconds
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{duration} seconds"
