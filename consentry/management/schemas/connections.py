"""Request bodies for ``/api/v2/connections`` (Auth0 field names; unknown properties and wrong types are refused)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,126}[A-Za-z0-9])?$"


class ConnectionFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    display_name: str | None = Field(None, max_length=128)
    options: dict[str, Any] | None = None
    enabled_clients: list[str] | None = Field(None, max_length=1000)
    is_domain_connection: bool | None = None
    show_as_button: bool | None = None
    realms: list[str] | None = Field(None, max_length=10)
    metadata: dict[str, str] | None = Field(None, max_length=10)
    authentication: dict[str, Any] | None = None
    connected_accounts: dict[str, Any] | None = None


class ConnectionCreate(ConnectionFields):
    name: str = Field(..., max_length=128, pattern=NAME_PATTERN)
    strategy: str = Field(..., min_length=1, max_length=64)


class ConnectionUpdate(ConnectionFields):
    pass


class EnabledClientUpdate(BaseModel):
    """One entry of ``PATCH /connections/{id}/clients``: enable (``true``) or disable a client."""

    model_config = ConfigDict(extra="forbid", strict=True)
    client_id: str = Field(..., min_length=1, max_length=255)
    status: bool
