"""What a service refuses, in the product's terms: the edges translate these into their own error shapes.

The Management API answers Auth0's ``{statusCode, error, message, errorCode}`` (``management/errors.py``), DCR
answers RFC 7591 ``invalid_client_metadata``, the dashboard shows the message next to the form field, the CLI
prints it. ``code`` is a stable machine-readable reason (the Management API sends it as ``errorCode``).
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    INVALID = "invalid"  # the command's input breaks a rule
    REFUSED = "refused"  # valid input, but the product does not allow the operation
    NOT_FOUND = "not_found"  # what the command names does not exist
    CONFLICT = "conflict"  # it would duplicate or contradict what exists


class ServiceError(Exception):
    def __init__(self, kind: Kind, message: str, code: str) -> None:
        super().__init__(message)
        self.kind, self.message, self.code = kind, message, code


def invalid(message: str, code: str = "invalid_body") -> ServiceError:
    return ServiceError(Kind.INVALID, message, code)


def refused(message: str, code: str = "operation_not_supported") -> ServiceError:
    return ServiceError(Kind.REFUSED, message, code)


def not_found(what: str, code: str) -> ServiceError:
    return ServiceError(Kind.NOT_FOUND, f"The {what} does not exist.", code)


def conflict(message: str, code: str = "already_exists") -> ServiceError:
    return ServiceError(Kind.CONFLICT, message, code)
