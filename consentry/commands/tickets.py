"""Request bodies of the database-connection flows: ``/api/v2/tickets/*`` and ``/dbconnections/*`` (Auth0's names).

The Management API bodies refuse unknown properties; the Authentication API bodies ignore them (SDKs add their
own telemetry fields), but every field they read is typed and bounded.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from consentry.commands.types import HttpUrl, Identifier, JsonObject

Email = Field(None, min_length=3, max_length=320)
MetadataName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
MetadataValue = Annotated[str, StringConstraints(max_length=500)]


class TicketFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    result_url: HttpUrl | None = None
    user_id: str | None = Field(None, min_length=1, max_length=255)
    client_id: Identifier | None = None
    organization_id: str | None = Field(None, max_length=64)
    ttl_sec: int | None = Field(None, ge=0)
    includeEmailInRedirect: bool = False  # noqa: N815 - Auth0's name
    identity: JsonObject | None = None


class PasswordChangeTicket(TicketFields):
    """``POST /api/v2/tickets/password-change``: ``user_id``, or ``email`` with ``connection_id``."""

    connection_id: str | None = Field(None, min_length=1, max_length=64)
    email: str | None = Email
    mark_email_as_verified: bool = False
    new_password: str | None = Field(None, max_length=1024)  # Auth0 refuses it too (deprecated)

    @model_validator(mode="after")
    def _names_a_user(self) -> PasswordChangeTicket:
        if self.new_password is not None:
            raise ValueError("new_password is not supported: the user chooses the password on the ticket's page")
        if not self.user_id and not (self.email and self.connection_id):
            raise ValueError("user_id, or email and connection_id, are required")
        return self


class EmailVerificationTicket(TicketFields):
    """``POST /api/v2/tickets/email-verification``."""

    user_id: str = Field(..., min_length=1, max_length=255)


class SignupBody(BaseModel):
    """``POST /dbconnections/signup``."""

    model_config = ConfigDict(extra="ignore", strict=True)

    client_id: Identifier
    connection: str = Field(..., min_length=1, max_length=128)
    email: str = Field(..., min_length=3, max_length=320)
    password: str = Field(..., min_length=1, max_length=1024)
    username: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_+\-.!#$'^`~@]+$")
    given_name: str | None = Field(None, max_length=150)
    family_name: str | None = Field(None, max_length=150)
    name: str | None = Field(None, max_length=300)
    nickname: str | None = Field(None, max_length=300)
    picture: HttpUrl | None = None
    user_metadata: dict[MetadataName, MetadataValue] | None = Field(
        None, max_length=10
    )  # Auth0: ten string properties at most


class ChangePasswordBody(BaseModel):
    """``POST /dbconnections/change_password``."""

    model_config = ConfigDict(extra="ignore", strict=True)

    client_id: Identifier
    connection: str = Field(..., min_length=1, max_length=128)
    email: str = Field(..., min_length=3, max_length=320)
