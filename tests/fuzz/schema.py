"""The Management API's OpenAPI schema as schemathesis sees it, and how a generated case is sent with httpx.

The schema is taken from the app itself (``create_app(...).openapi()``, what ``/api/v2/openapi.json`` serves),
once, at collection time, so each operation becomes its own test.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from consentry.app import create_app
from consentry.settings import Settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
BASE_URL = "http://testserver"


def openapi_document() -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="consentry-schema-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{data / 'unused.db'}",
        issuer=f"{BASE_URL}/",
        key_encryption_key="schema-only",
        data_dir=data,
    )
    return create_app(settings).openapi()


DOCUMENT = openapi_document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)


def management_operations() -> list[Any]:
    ops = [result.ok() for result in SCHEMA.get_all_operations()]
    return sorted((op for op in ops if op.path.startswith("/api/v2/")), key=lambda op: op.label)


def request_kwargs(case: Case, token: str) -> dict[str, Any]:
    """``case`` as keyword arguments for ``httpx.AsyncClient.request`` with the Management API token."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    kwargs.pop("cookies", None)
    headers = {str(k): str(v) for k, v in (kwargs.pop("headers", None) or {}).items()}
    headers["Authorization"] = f"Bearer {token}"
    out: dict[str, Any] = {
        "method": kwargs.pop("method"),
        "url": kwargs.pop("url"),
        "headers": headers,
        "params": kwargs.pop("params", None),
    }
    if "json" in kwargs:
        out["json"] = kwargs.pop("json")
    if "data" in kwargs:
        data = kwargs.pop("data")
        out["content" if isinstance(data, bytes | str) else "data"] = data
    return out


def validate(case: Case, response: httpx.Response) -> None:
    case.validate_response(response, checks=CHECKS)
