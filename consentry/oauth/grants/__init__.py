"""Importing this package registers every grant type."""

from consentry.oauth.grants import authorization_code, client_credentials, password, refresh_token  # noqa: F401
from consentry.oauth.grants.base import GRANTS

__all__ = ["GRANTS"]
