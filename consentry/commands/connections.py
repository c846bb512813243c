"""Request bodies for ``/api/v2/connections`` (Auth0 field names; unknown properties and wrong types are refused)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from consentry.commands.types import JsonObject, ShortText, json_problem

NAME_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,126}[A-Za-z0-9])?$"


class PasswordComplexity(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    min_length: int | None = Field(None, ge=1, le=128)  # Auth0's bounds


class PasswordHistory(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    enable: bool | None = None
    size: int | None = Field(None, ge=0, le=24)  # Auth0's bounds


class ConnectionOptions(BaseModel):
    """Auth0's documented ``options`` of a database connection are typed; other members (strategy-specific) are
    stored and echoed as free-form JSON. Consentry's login reads none of them today."""

    model_config = ConfigDict(extra="allow", strict=True)
    passwordPolicy: Literal["none", "low", "fair", "good", "excellent"] | None = None  # noqa: N815 - Auth0's name
    password_complexity_options: PasswordComplexity | None = None
    password_history: PasswordHistory | None = None
    brute_force_protection: bool | None = None
    requires_username: bool | None = None
    disable_signup: bool | None = None
    import_mode: bool | None = None
    enabledDatabaseCustomization: bool | None = None  # noqa: N815 - Auth0's name

    @model_validator(mode="after")
    def _storable(self) -> ConnectionOptions:
        problem = json_problem(self.model_extra or {})
        if problem:
            raise ValueError(problem)
        return self


class ConnectionFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    display_name: str | None = Field(None, max_length=128)
    options: ConnectionOptions | None = None
    enabled_clients: list[str] | None = Field(None, max_length=1000)
    is_domain_connection: bool | None = None
    show_as_button: bool | None = None
    realms: list[ShortText] | None = Field(None, max_length=10)
    metadata: dict[ShortText, ShortText] | None = Field(None, max_length=10)
    authentication: JsonObject | None = None
    connected_accounts: JsonObject | None = None


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
