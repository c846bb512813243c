"""Auth0's rules for registering a Client ID Metadata Document through the Management API. Pure, table-tested.

An administrator names a document by its URL (``external_client_id``); the URL rules are Auth0's "CIMD URL
validation rules" (https, no localhost, at most 120 bytes, no query or fragment, a path…). The document is then
read into the fields a client would get (``mapped_fields``), every rule it breaks (``violations``) and what was
ignored or needs attention (``warnings``), so a preview can show all problems at once rather than the first.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from consentry.oauth.client_rules import display_name_problem
from consentry.oauth.redirect_uri import callback_problem

MAX_URL_BYTES = 120  # Auth0: "Maximum of 120 bytes"
MAX_JWKS_BYTES = 12 * 1024  # Auth0: the jwks_uri document is limited to 12KB
MAX_REDIRECT_URIS = 20
AUTH_METHODS = ("none", "private_key_jwt")
GRANTS = ("authorization_code", "refresh_token")
KEY_TYPES = ("RSA", "EC", "OKP")
PRIVATE_KEY_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
# The members a document may carry that Consentry maps; any other is ignored and reported as a warning.
SUPPORTED = frozenset(
    {
        "client_id",
        "client_name",
        "redirect_uris",
        "grant_types",
        "response_types",
        "token_endpoint_auth_method",
        "jwks_uri",
        "logo_uri",
    }
)
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_LOCAL_NAMES = ("localhost", "localhost.")


def _host_problem(host: str) -> str | None:
    if host.lower() in _LOCAL_NAMES or host.lower().rstrip(".").endswith(".localhost"):
        return "must not point at localhost"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.is_loopback or ip.is_unspecified:
        return "must not point at localhost"
    return None


def _shape_problem(url: str) -> str | None:
    """Whitespace, encoding and length: what can be said before the URL is parsed."""
    if not url:
        return "must be a non-empty URL"
    if url != url.strip() or any(c.isspace() or not c.isprintable() for c in url):
        return "must not contain whitespace or control characters"
    if not url.isascii():
        return "must be ASCII (internationalized host names in their xn-- form)"
    if len(url.encode()) > MAX_URL_BYTES:
        return f"must be at most {MAX_URL_BYTES} bytes"
    if _PERCENT.search(url):
        return "must follow '%' with two hexadecimal digits"
    if "#" in url:
        return "must not contain a fragment"
    if "?" in url:
        return "must not contain a query string"
    return None


def external_id_problem(url: str) -> str | None:
    """Why ``url`` may not name a metadata document (Auth0's CIMD URL rules), or None when it may."""
    problem = _shape_problem(url)
    if problem:
        return problem
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme != "https":
        return "must use the https scheme"
    if not parts.hostname or url.startswith("https:///"):
        return "must contain a host name"
    if parts.username is not None or parts.password is not None:
        return "must not contain a user name or password"
    if port == 0:
        return "must not use port 0"
    if parts.path in ("", "/"):
        return "must have a path beyond '/'"
    if any(unquote(seg) in (".", "..") for seg in parts.path.split("/")):
        return "must not contain '.' or '..' path segments"
    return _host_problem(parts.hostname)


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an absolute URL, the default port made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


@dataclass
class Report:
    """What a document would become: the mapped client fields, the rules it breaks, what was ignored."""

    mapped: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.violations


def _text(doc: dict[str, Any], key: str, report: Report) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        report.violations.append(f"{key} must be a string.")
        return None
    return value


def _redirect_uris(doc: dict[str, Any], report: Report) -> None:
    uris = doc.get("redirect_uris")
    if not isinstance(uris, list) or not uris or len(uris) > MAX_REDIRECT_URIS:
        report.violations.append(f"redirect_uris must list 1 to {MAX_REDIRECT_URIS} URLs.")
        return
    problems = []
    for uri in uris:
        problem = callback_problem(uri, native=True, dcr=True) if isinstance(uri, str) else "must be a string"
        if problem:
            shown = uri[:100] if isinstance(uri, str) else "?"
            problems.append(f"redirect_uris entry '{shown}' {problem}.")
    report.violations.extend(problems)
    if not problems:
        report.mapped["callbacks"] = list(dict.fromkeys(uris))


def _grants(doc: dict[str, Any], report: Report) -> None:
    grants = doc.get("grant_types", list(GRANTS))
    if not isinstance(grants, list) or not grants or not all(isinstance(g, str) for g in grants):
        report.violations.append("grant_types must be a non-empty list of strings.")
    elif not set(grants) <= set(GRANTS):
        refused = ", ".join(sorted(set(grants) - set(GRANTS)))[:200]
        report.violations.append(f"grant_types may contain only authorization_code and refresh_token ({refused}).")
    else:
        report.mapped["grant_types"] = [g for g in GRANTS if g in grants]
    if doc.get("response_types") not in (None, ["code"]):
        report.violations.append('response_types must be ["code"].')


def _name_and_logo(doc: dict[str, Any], host: str, report: Report) -> None:
    name = _text(doc, "client_name", report)
    if name is not None and (len(name) > 255 or display_name_problem(name)):
        report.violations.append("client_name must be 1 to 255 visible characters without '<' or '>'.")
    elif name is None and "client_name" not in doc:
        report.warnings.append(f"client_name is missing: the application is named after its host ({host}).")
    report.mapped["name"] = name.strip() if name and not display_name_problem(name) else host
    logo = _text(doc, "logo_uri", report)
    if logo is not None:
        if not logo.startswith("https://") or callback_problem(logo, native=False):
            report.violations.append("logo_uri must be an https URL.")
        else:
            report.mapped["logo_uri"] = logo


def _auth_method(doc: dict[str, Any], url: str, report: Report) -> None:
    method = doc.get("token_endpoint_auth_method", "none")
    if any(isinstance(k, str) and k.startswith("client_secret") for k in doc):
        report.violations.append("client_secret members are not allowed: a metadata document has no shared secret.")
    if "jwks" in doc:
        report.violations.append("An inline jwks is not supported: publish the keys at a jwks_uri.")
    if method not in AUTH_METHODS:
        shown = method[:50] if isinstance(method, str) else "?"
        report.violations.append(f"token_endpoint_auth_method must be none or private_key_jwt, not '{shown}'.")
        return
    report.mapped["token_endpoint_auth_method"] = method
    jwks_uri = _text(doc, "jwks_uri", report)
    if method == "none":
        if jwks_uri is not None:
            report.warnings.append("jwks_uri is ignored: token_endpoint_auth_method is none.")
        return
    problem = jwks_uri_problem(jwks_uri, url) if jwks_uri is not None else None
    if jwks_uri is None:
        report.violations.append("token_endpoint_auth_method private_key_jwt needs a jwks_uri.")
    elif problem:
        report.violations.append(f"jwks_uri {problem}.")
    else:
        report.mapped["jwks_uri"] = jwks_uri


def jwks_uri_problem(jwks_uri: str, url: str) -> str | None:
    """Why ``jwks_uri`` may not hold the keys of the document at ``url`` (https, same origin), or None."""
    if len(jwks_uri) > 2000 or any(c.isspace() or not c.isprintable() for c in jwks_uri) or "#" in jwks_uri:
        return "must be an https URL without spaces or a fragment"
    try:
        parts = urlsplit(jwks_uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme != "https" or not parts.hostname or parts.username is not None or parts.password is not None:
        return "must be an https URL with a host and no user information"
    if origin(jwks_uri) != origin(url):
        return "must be on the same origin (scheme, host and port) as the metadata document"
    return None


def read_document(doc: Any, url: str, host: str) -> Report:
    """The report for a parsed document fetched from ``url`` (``host`` names the app when it has no name)."""
    report = Report(mapped={"external_client_id": url, "app_type": "native"})
    if not isinstance(doc, dict):
        report.violations.append("The metadata document must be a JSON object.")
        return report
    if doc.get("client_id") != url:  # draft §4.1: simple string comparison
        report.violations.append("client_id in the document must equal its URL exactly.")
    _name_and_logo(doc, host, report)
    _redirect_uris(doc, report)
    _grants(doc, report)
    _auth_method(doc, url, report)
    for key in sorted(k for k in doc if k not in SUPPORTED and not str(k).startswith("client_secret")):
        if key != "jwks":
            report.warnings.append(f"Property '{str(key)[:50]}' is not supported and was ignored.")
    return report


def read_jwks(doc: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The public keys of a JWKS as Auth0 credentials (kid, alg), and its problems (private keys refused)."""
    keys = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, dict) for k in keys):
        return [], ["The jwks_uri document must be a JWKS: an object with a non-empty keys list."]
    problems: list[str] = []
    if any(member in key for key in keys for member in PRIVATE_KEY_MEMBERS):
        problems.append("The jwks_uri document contains private key material; publish public keys only.")
    if any(key.get("kty") not in KEY_TYPES for key in keys):
        problems.append(f"Every key at jwks_uri needs kty {', '.join(KEY_TYPES)}.")
    credentials = [{"credential_type": "public_key", "kid": key.get("kid"), "alg": key.get("alg")} for key in keys]
    return ([] if problems else credentials), problems
