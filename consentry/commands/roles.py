"""Request bodies for ``/api/v2/roles`` and the role and permission assignments of ``/api/v2/users/{id}``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_ASSIGNED = 1000  # permissions, roles or users named in one request


def _visible(value: str | None) -> str | None:
    """Shown in the dashboard and echoed by the API: no control, format or bidi characters."""
    if value is not None and not all(c.isprintable() for c in value):
        raise ValueError("must not contain control, format or invisible characters")
    return value


class RoleFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=500)

    @field_validator("name", "description")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return _visible(value)


class RoleCreate(RoleFields):
    name: str = Field(..., min_length=1, max_length=255)


class RoleUpdate(RoleFields):
    pass


class PermissionRef(BaseModel):
    """One permission: a scope value of the API ``resource_server_identifier``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    resource_server_identifier: str = Field(..., min_length=1, max_length=600)
    permission_name: str = Field(..., min_length=1, max_length=280)


class PermissionsBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    permissions: list[PermissionRef] = Field(..., min_length=1, max_length=MAX_ASSIGNED)


class RolesBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    roles: list[str] = Field(..., min_length=1, max_length=MAX_ASSIGNED)


class UsersBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    users: list[str] = Field(..., min_length=1, max_length=MAX_ASSIGNED)
