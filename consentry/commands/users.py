"""Request bodies for ``/api/v2/users`` (Auth0 field names; unknown properties and wrong types are refused)."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from consentry.commands.types import HttpUrl, json_problem

Metadata = dict[str, Any]


class UserFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: str | None = Field(None, min_length=3, max_length=320)
    username: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_+\-.!#$'^`~@]+$")
    password: str | None = Field(None, min_length=1, max_length=1024)
    email_verified: bool | None = None
    verify_email: bool | None = None
    phone_number: str | None = Field(None, max_length=32)
    phone_verified: bool | None = None
    blocked: bool | None = None
    name: str | None = Field(None, max_length=300)
    nickname: str | None = Field(None, max_length=300)
    given_name: str | None = Field(None, max_length=150)
    family_name: str | None = Field(None, max_length=150)
    picture: HttpUrl | None = None  # an <img src> on pages and the ``picture`` claim
    user_metadata: Metadata | None = None
    app_metadata: Metadata | None = None

    @field_validator("email", "name", "nickname", "given_name", "family_name", "phone_number")
    @classmethod
    def _visible(cls, value: str | None) -> str | None:
        """Shown on pages and put in ID tokens: no control, format or bidi characters (they make text lie)."""
        if value is not None and not all(c.isprintable() for c in value):
            raise ValueError("must not contain control, format or invisible characters")
        return value

    @field_validator("user_metadata", "app_metadata")
    @classmethod
    def _storable(cls, value: Metadata | None) -> Metadata | None:
        """Metadata is stored and answered as JSON: integers beyond 64 bits cannot be (they were a 500)."""
        if value is not None:
            if problem := json_problem(value):
                raise ValueError(problem)
            try:
                orjson.dumps(value)
            except orjson.JSONEncodeError:
                raise ValueError("must be JSON with integers between -2^63 and 2^64 - 1") from None
        return value


class UserCreate(UserFields):
    connection: str = Field(..., min_length=1, max_length=128)
    user_id: str | None = Field(None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_\-.]+$")


class UserUpdate(UserFields):
    connection: str | None = Field(None, min_length=1, max_length=128)
    client_id: str | None = Field(None, max_length=255)
    verify_phone_number: bool | None = None
    verify_password: bool | None = None
