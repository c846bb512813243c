"""Request bodies for ``/api/v2/webhooks``: shapes here; the URL and event-type rules are the service's
(``services/webhook_rules.py``), which the dashboard shares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    url: str = Field(..., min_length=1, max_length=2000)
    event_types: list[str] = Field(..., min_length=1, max_length=20)
    description: str | None = Field(None, max_length=255)
    enabled: bool = True


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    url: str | None = Field(None, min_length=1, max_length=2000)
    event_types: list[str] | None = Field(None, min_length=1, max_length=20)
    description: str | None = Field(None, max_length=255)
    enabled: bool | None = None
