"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): an HTTPS URL as ``client_id``.

The URL is fetched by the authorization server (the client never registers), so the fetch is an SSRF
surface (``fetch``); a valid document (``document``) becomes a third-party, strict, public ``clients`` row
(``store``), reused until its HTTP cache lifetime ends (``resolve``: the memo and one fetch per URL).
Tests patch ``fetch.resolve_host`` and ``fetch.fetch_document``, where they are looked up.
"""

from __future__ import annotations

from consentry.oauth.cimd.fetch import check_domain, check_url
from consentry.oauth.cimd.resolve import resolve_cimd_client

__all__ = ["check_domain", "check_url", "resolve_cimd_client"]
