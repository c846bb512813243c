"""Request bodies for ``/api/v2/client-grants``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from consentry.commands.types import ShortText

ScopeValue = Annotated[str, StringConstraints(max_length=280)]  # as ScopeIn.value


class ClientGrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    client_id: str | None = Field(None, min_length=1, max_length=255)
    default_for: Literal["third_party_clients"] | None = None
    audience: str = Field(..., min_length=1, max_length=600)
    scope: list[ScopeValue] | None = Field(None, max_length=500)
    allow_all_scopes: bool | None = None
    subject_type: Literal["client", "user"] | None = None
    organization_usage: Literal["deny", "allow", "require"] | None = None
    allow_any_organization: bool | None = None
    authorization_details_types: list[ShortText] | None = Field(None, max_length=100)
    # read-only in the grant object (only Consentry makes system grants): ``false`` written back sets nothing
    is_system: Literal[False] | None = None


class ClientGrantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    scope: list[ScopeValue] | None = Field(None, max_length=500)
    allow_all_scopes: bool | None = None
    organization_usage: Literal["deny", "allow", "require"] | None = None
    allow_any_organization: bool | None = None
    authorization_details_types: list[ShortText] | None = Field(None, max_length=100)
