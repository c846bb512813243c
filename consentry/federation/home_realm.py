"""Home realm discovery: which enterprise connection an email address belongs to (``options.domain_aliases``).

Pure. The match is on the whole domain after the last ``@``, case-insensitive, as Auth0 matches it; the first
connection (in catalog order) naming the domain wins.
"""

from __future__ import annotations

from collections.abc import Iterable

from consentry.config_records import ConnectionInfo


def email_domain(login: str) -> str | None:
    if "@" not in login:
        return None
    domain = login.rsplit("@", 1)[1].strip().lower().rstrip(".")
    return domain or None


def connection_for(login: str, connections: Iterable[ConnectionInfo]) -> ConnectionInfo | None:
    domain = email_domain(login)
    if domain is None:
        return None
    for conn in connections:
        aliases = conn.options.get("domain_aliases") or []
        if isinstance(aliases, list) and domain in (str(a).lower() for a in aliases):
            return conn
    return None
