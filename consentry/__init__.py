"""Consentry: a self-hosted, Auth0-compatible OAuth 2.0 / OpenID Connect server for third-party apps and consent."""

__version__ = "0.1.0"
