"""Request body of ``/api/v2/clients/cimd/preview`` and ``/register`` (Auth0's: one property, nothing else)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CimdRequest(BaseModel):
    """The document's URL; its rules (https, 120 bytes, no query…) are checked by ``oauth.cimd_rules``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    external_client_id: str = Field(max_length=2000)
