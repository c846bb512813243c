"""Auth0's Management API error shape: ``{"statusCode","error","message","errorCode"}``."""

from __future__ import annotations

from http import HTTPStatus


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


def bad_request(message: str, code: str = "invalid_body") -> ManagementError:
    return ManagementError(400, message, code)


def not_found(what: str, code: str) -> ManagementError:
    return ManagementError(404, f"The {what} does not exist.", code)


def conflict(message: str, code: str = "already_exists") -> ManagementError:
    return ManagementError(409, message, code)
