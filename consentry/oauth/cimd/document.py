"""Reading a fetched Client ID Metadata Document into the client's settings (draft §4). Pure."""

from __future__ import annotations

import json
from typing import Any

from consentry.oauth.cimd.errors import refuse
from consentry.oauth.client_rules import display_name_problem
from consentry.oauth.redirect_uri import callback_problem

MAX_REDIRECT_URIS = 20
ALLOWED_GRANTS = ("authorization_code", "refresh_token")


def _optional_str(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise refuse(f"The client metadata document's {key} must be a string.")
    return value


def validate_document(body: bytes, url: str) -> dict[str, Any]:
    """The client's settings from a fetched document (draft §4); raises ``invalid_client`` with the reason."""
    try:
        doc = json.loads(body)
    except ValueError:
        raise refuse("The client metadata document is not valid JSON.") from None
    if not isinstance(doc, dict):
        raise refuse("The client metadata document must be a JSON object.")
    if doc.get("client_id") != url:  # draft §4.1: simple string comparison
        raise refuse("The client metadata document's client_id does not equal its URL.")
    if any(key.startswith("client_secret") for key in doc):  # draft §4.1: no shared secrets
        raise refuse("A client metadata document must not contain client_secret members.")
    if doc.get("token_endpoint_auth_method") not in (None, "none"):
        raise refuse("A client metadata document client must use token_endpoint_auth_method none.")
    uris = doc.get("redirect_uris")
    if not isinstance(uris, list) or not uris or len(uris) > MAX_REDIRECT_URIS:
        raise refuse(f"The client metadata document needs redirect_uris: 1 to {MAX_REDIRECT_URIS} URLs.")
    for uri in uris:
        problem = callback_problem(uri, native=True, dcr=True) if isinstance(uri, str) else "must be a string"
        if problem:
            shown = uri[:100] if isinstance(uri, str) else "?"
            raise refuse(f"The client metadata document's redirect_uris entry '{shown}' {problem}.")
    grants = doc.get("grant_types")
    if grants is not None and (not isinstance(grants, list) or not all(g in ALLOWED_GRANTS for g in grants)):
        raise refuse("A client metadata document may use only the authorization_code and refresh_token grants.")
    if doc.get("response_types") not in (None, ["code"]):
        raise refuse('A client metadata document may use only response_types ["code"].')
    name = _optional_str(doc, "client_name")
    if name is not None and (len(name) > 255 or display_name_problem(name)):
        raise refuse(
            "The client metadata document's client_name must be 1 to 255 visible characters without '<' or '>'."
        )
    logo = _optional_str(doc, "logo_uri")
    if logo is not None and (not logo.startswith("https://") or callback_problem(logo, native=False)):
        raise refuse("The client metadata document's logo_uri must be an https URL.")
    return {"name": name.strip() if name else None, "logo_uri": logo, "callbacks": list(dict.fromkeys(uris))}
