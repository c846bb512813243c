"""Importing this package registers every grant type."""

from consentry.oauth.grants import (  # noqa: F401
    authorization_code,
    client_credentials,
    jwt_bearer,
    password,
    refresh_token,
    token_exchange,
)
from consentry.oauth.grants.base import GRANTS

__all__ = ["GRANTS"]
