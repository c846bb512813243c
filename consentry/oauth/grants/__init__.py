"""Importing this package registers every grant type."""

from consentry.oauth.grants import client_credentials  # noqa: F401
from consentry.oauth.grants.base import GRANTS

__all__ = ["GRANTS"]
