"""Request bodies for ``/api/v2/cross-app-access-policies`` (Consentry as the enterprise IdP)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from consentry.commands.types import url_problem

ScopeValue = Annotated[str, StringConstraints(min_length=1, max_length=280, pattern=r"^[\x21\x23-\x5b\x5d-\x7e]+$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=600)]
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class XaaPolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    client_id: ClientId  # the requesting app here
    audience: Identifier  # the issuer of the resource authorization server
    resource: Identifier | None = None  # the resource there (RFC 8707); None: requests that name none
    scope: list[ScopeValue] = Field(default_factory=list, max_length=100)
    resource_client_id: ClientId | None = None  # the app's client_id at the resource AS (default: client_id)
    subject_client_id: ClientId | None = None  # the resource AS's login client here (its ``sub`` for the user)


class XaaPolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    scope: list[ScopeValue] | None = Field(None, max_length=100)
    resource_client_id: ClientId | None = None
    subject_client_id: ClientId | None = None


def identifier_problem(value: str) -> str | None:
    """An audience or resource is an absolute http(s) URL (an issuer, RFC 8707 §2)."""
    return url_problem(value, ("http", "https"))
