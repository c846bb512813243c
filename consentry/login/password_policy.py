"""A database connection's password policy (Auth0's ``options.passwordPolicy``): pure, table-tested.

Auth0's levels (its password-sheriff rules): ``none`` at least 1 character; ``low`` 6; ``fair`` 8 with lower
case, upper case and numbers; ``good`` 8 with three of lower case, upper case, numbers and special characters;
``excellent`` 10, three of the four, and no more than 2 identical characters in a row.
``options.password_complexity_options.min_length`` replaces the level's length. A connection without a
``passwordPolicy`` keeps Consentry's rule (at least 8 characters). Every level caps the length at 1024.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from consentry.login.passwords import MAX_LENGTH, MIN_LENGTH

_CLASSES = {
    "lowerCase": ("lower case letters (a-z)", re.compile(r"[a-z]")),
    "upperCase": ("upper case letters (A-Z)", re.compile(r"[A-Z]")),
    "numbers": ("numbers (i.e. 0-9)", re.compile(r"[0-9]")),
    "specialCharacters": ("special characters (e.g. !@#$%^&*)", re.compile(r"[^A-Za-z0-9]")),
}
ALL_CLASSES = tuple(_CLASSES)
LEVELS: dict[str, tuple[int, tuple[str, ...], int, int | None]] = {
    # level: (length, character classes, how many of them are needed, most identical characters in a row)
    "none": (1, (), 0, None),
    "low": (6, (), 0, None),
    "fair": (8, ("lowerCase", "upperCase", "numbers"), 3, None),
    "good": (8, ALL_CLASSES, 3, None),
    "excellent": (10, ALL_CLASSES, 3, 2),
}


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One rule of the policy and whether the password meets it (Auth0's ``description.rules`` items)."""

    code: str
    message: str
    format: tuple[int, ...]
    verified: bool
    items: tuple[tuple[str, str, bool], ...] = ()  # (code, message, verified) of character classes

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message": self.message,
            "format": list(self.format),
            "code": self.code,
            "verified": self.verified,
        }
        if self.items:
            body["items"] = [{"message": m, "code": c, "verified": v} for c, m, v in self.items]
        return body


@dataclass(frozen=True)
class Verdict:
    rules: tuple[Rule, ...]
    too_long: bool = False

    @property
    def ok(self) -> bool:
        return not self.too_long and all(r.verified for r in self.rules)

    @property
    def summary(self) -> str:
        """The policy in words (Auth0's ``policy`` field), one ``* rule`` per line."""
        return "\n".join(f"* {r.message % r.format if r.format else r.message}" for r in self.rules)

    def message(self) -> str:
        if self.too_long:
            return "Password is too long."
        return "Password is too weak: " + "; ".join(
            (r.message % r.format if r.format else r.message) for r in self.rules if not r.verified
        )


def _identical_run(password: str) -> int:
    longest, run, last = 0, 0, None
    for char in password:
        run = run + 1 if char == last else 1
        last, longest = char, max(longest, run)
    return longest


def check(options: dict[str, Any] | None, password: str) -> Verdict:
    """The connection's policy applied to ``password``."""
    options = options or {}
    level = options.get("passwordPolicy")
    length, classes, needed, identical = LEVELS[level] if level in LEVELS else (MIN_LENGTH, (), 0, None)
    complexity = options.get("password_complexity_options")
    if isinstance(complexity, dict) and isinstance(complexity.get("min_length"), int):
        length = complexity["min_length"]
    rules = [
        Rule(
            code="lengthAtLeast",
            message="At least %d characters in length",
            format=(length,),
            verified=len(password) >= length,
        )
    ]
    if classes:
        found = [(c, _CLASSES[c][0], bool(_CLASSES[c][1].search(password))) for c in classes]
        met = sum(1 for _, _, v in found if v)
        if needed == len(classes):
            rules.append(
                Rule(code="contains", message="Should contain:", format=(), verified=met == needed, items=tuple(found))
            )
        else:
            rules.append(
                Rule(
                    code="containsAtLeast",
                    message="At least %d of the following %d types of characters:",
                    format=(needed, len(classes)),
                    verified=met >= needed,
                    items=tuple(found),
                )
            )
    if identical is not None:
        rules.append(
            Rule(
                code="identicalChars",
                message='No more than %d identical characters in a row (e.g., "aaa" not allowed)',
                format=(identical,),
                verified=_identical_run(password) <= identical,
            )
        )
    return Verdict(tuple(rules), too_long=len(password) > MAX_LENGTH)
