"""Request bodies for ``/api/v2/clients/{id}/credentials`` (Auth0 field names; unknown properties are refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CredentialAlg = Literal["RS256", "RS384", "PS256"]


class CredentialCreate(BaseModel):
    """A PEM public key for ``private_key_jwt``. Auth0's ``x509_cert`` and ``cert_subject_dn`` (mTLS) credentials
    are refused: Consentry has no mutual-TLS client authentication."""

    model_config = ConfigDict(extra="forbid")
    credential_type: Literal["public_key"]
    name: str | None = Field(None, max_length=128)
    pem: str = Field(..., min_length=1, max_length=16384)
    alg: CredentialAlg = "RS256"
    parse_expiry_from_cert: Literal[False] | None = None  # a bare public key has no expiry to parse
    expires_at: datetime | None = None


class CredentialUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires_at: datetime | None = None
