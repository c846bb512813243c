"""Reading submitted forms and turning service errors into messages next to the right field.

Forms are re-rendered with what was submitted and the errors inline, so nothing typed is lost.
The validation itself is the Management API's: the same pydantic schemas and the same services
(their ``ServiceError.message`` is shown as is), so the dashboard cannot accept what the API refuses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from consentry.admin.guard import PageNotFound
from consentry.services.errors import Kind, ServiceError

FORM_ERROR = "_form"  # key of the message shown above the form rather than next to a field
Errors = dict[str, str]


class Submitted:
    """A submitted form: every field as a list of values (checkbox groups repeat a name)."""

    def __init__(self, data: dict[str, list[str]]) -> None:
        self.data = data

    def text(self, name: str) -> str:
        return (self.data.get(name) or [""])[0].strip()

    def optional(self, name: str) -> str | None:
        return self.text(name) or None

    def many(self, name: str) -> list[str]:
        return [v.strip() for v in self.data.get(name, []) if v.strip()]

    def raw_many(self, name: str) -> list[str]:
        """Values in order, blanks kept (rows of a table of inputs)."""
        return [v.strip() for v in self.data.get(name, [])]

    def lines(self, name: str) -> list[str]:
        """A textarea of URLs: one per line (commas also separate, as in Auth0's dashboard)."""
        return [part.strip() for part in re.split(r"[\r\n,]+", self.text(name)) if part.strip()]

    def checked(self, name: str) -> bool:
        return name in self.data

    def integer(self, name: str) -> int | str | None:
        """An int, None when empty, or the raw text (so the schema reports it and the form keeps it)."""
        value = self.text(name)
        if not value:
            return None
        return int(value) if re.fullmatch(r"-?\d{1,12}", value) else value


def validation_errors(exc: ValidationError, labels: dict[str, str] | None = None) -> Errors:
    """pydantic errors keyed by the top-level field (``scopes.2.value`` -> ``scopes``)."""
    errors: Errors = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        field = loc[0] if loc else FORM_ERROR
        message = err.get("msg", "Invalid value")
        if err.get("type") == "missing" or (err.get("type") == "string_too_short" and err.get("input") == ""):
            message = "This field is required"
        elif err.get("type") == "string_pattern_mismatch":
            message = 'Use printable characters only, without spaces, quotes (") or backslashes'
        if len(loc) > 2 and loc[1].isdigit():
            message = f"Entry {int(loc[1]) + 1}: {message}"
        name = (labels or {}).get(field)
        errors.setdefault(field, f"{name}: {message}" if name and field == FORM_ERROR else message)
    return errors


# Words in a service's message that name the field it is about (first match wins).
HINTS: tuple[tuple[str, str], ...] = (
    ("default_directory", "default_directory"),
    ("allowed_logout_urls", "allowed_logout_urls"),
    ("web_origins", "web_origins"),
    ("allowed_origins", "web_origins"),
    ("callbacks", "callbacks"),
    ("grant type", "grant_types"),
    ("grant_types", "grant_types"),
    ("redirection_policy", "redirection_policy"),
    ("identifier", "identifier"),
    ("scope", "scopes"),
    ("name", "name"),
    ("email", "email"),
    ("password", "password"),
    ("username", "username"),
)


def service_errors(err: ServiceError, fields: Iterable[str]) -> Errors:
    """The service's message next to the field it names, else above the form (a 404 is a page of its own)."""
    if err.kind is Kind.NOT_FOUND:
        raise PageNotFound(err.message)
    allowed = set(fields)
    message = _readable(err.message)
    text = message.lower()
    for word, field in HINTS:
        if field in allowed and word in text:
            return {field: message}
    return {FORM_ERROR: message}


def _readable(message: str) -> str:
    """The API's message without its "Payload validation error:" preamble (the page already says so)."""
    for prefix in ("Payload validation error: ", "Query validation error: "):
        if message.startswith(prefix):
            return message[len(prefix) :].strip("'")
    return message


def values_of(form: Submitted, names: Iterable[str]) -> dict[str, Any]:
    """The raw values to put back in a re-rendered form."""
    return {name: form.text(name) for name in names}


class Refusals:
    """What the write in a ``with Refusals(FIELDS) as refused:`` block refused, as the form's errors.

    A schema's ``ValidationError`` and a service's ``ServiceError`` end the block and land in ``errors``
    (``renamed`` maps a schema field to the form field it is typed in); a 404 is a page of its own. The
    failed POST then re-renders its form with ``errors``, exactly as every dashboard form does
    (``pages.found()`` is its counterpart for pages that are not forms).
    """

    def __init__(
        self, fields: Iterable[str], *, labels: dict[str, str] | None = None, renamed: Mapping[str, str] | None = None
    ) -> None:
        self.fields, self.labels, self.renamed = tuple(fields), labels, renamed or {}
        self.errors: Errors = {}

    def __enter__(self) -> Refusals:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        if isinstance(exc, ValidationError):
            errors = validation_errors(exc, self.labels)
            self.errors = {self.renamed.get(k, k): v for k, v in errors.items()}
            return True
        if isinstance(exc, ServiceError):
            self.errors = service_errors(exc, self.fields)
            return True
        return False
