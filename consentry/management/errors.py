"""Auth0's Management API error shape: ``{"statusCode","error","message","errorCode"}``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel

from consentry.services.errors import Kind, ServiceError


class ManagementError(Exception):
    def __init__(self, status: int, message: str, error_code: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.error_code = status, message, error_code
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {
            "statusCode": self.status,
            "error": HTTPStatus(self.status).phrase,
            "message": self.message,
            "errorCode": self.error_code,
        }


STATUS = {Kind.INVALID: 400, Kind.REFUSED: 403, Kind.NOT_FOUND: 404, Kind.CONFLICT: 409}


def from_service(err: ServiceError) -> ManagementError:
    """A service's refusal in Auth0's shape: its kind as the status, its code as ``errorCode``."""
    return ManagementError(STATUS[err.kind], err.message, err.code)


def bad_request(message: str, code: str = "invalid_body") -> ManagementError:
    return ManagementError(400, message, code)


def not_found(what: str, code: str) -> ManagementError:
    return ManagementError(404, f"The {what} does not exist.", code)


def conflict(message: str, code: str = "already_exists") -> ManagementError:
    return ManagementError(409, message, code)


class ErrorBody(BaseModel):
    """The error body every Management API operation answers with (documentation only)."""

    statusCode: int  # noqa: N815 - Auth0's field name
    error: str
    message: str
    errorCode: str  # noqa: N815 - Auth0's field name


# Declared on every Management API route: the validation errors are 400 (not FastAPI's 422), and 401/403/404/409/
# 413/429 share the same body. Routes answer with ``Response`` objects, so this documents and changes nothing.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "Auth0 error body (400 bad input, 401/403 token or scope, 404, 409)"},
}
