"""The RFC 9728 protected resource metadata document and where it is published."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def metadata_url(resource: str) -> str:
    """RFC 9728 §3.1: the well-known segment goes between the host and the resource's path."""
    parts = urlsplit(resource)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{path}"


def protected_resource_metadata(
    resource: str,
    issuer: str,
    scopes_supported: Sequence[str],
    *,
    resource_name: str | None = None,
    resource_documentation: str | None = None,
) -> dict[str, Any]:
    """The RFC 9728 §2 document; ``authorization_servers`` holds the exact issuer string."""
    doc: dict[str, Any] = {
        "resource": resource,
        "authorization_servers": [issuer],
        "scopes_supported": list(scopes_supported),
        "bearer_methods_supported": ["header"],
    }
    if resource_name:
        doc["resource_name"] = resource_name
    if resource_documentation:
        doc["resource_documentation"] = resource_documentation
    return doc
