"""An enterprise connection's upstream provider: its settings (from ``options``) and its endpoints and keys.

Endpoints come from the discovery document (``discovery_url``, else ``{issuer}/.well-known/openid-configuration``,
OpenID Connect Discovery §4) unless ``options`` names them; the discovery document's ``issuer`` must equal a
configured ``issuer`` (§4.3). Documents and JWKS are kept per process for ``connections_metadata_ttl`` seconds;
a token signed with an unknown key id fetches the JWKS again, at most once per sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consentry.config_records import ConnectionInfo
from consentry.federation import secrets
from consentry.federation.fetch import UpstreamError, check_url, get_json
from consentry.federation.id_token import ALLOWED_ALGS
from consentry.settings import Settings

DISCOVERY_PATH = "/.well-known/openid-configuration"
_CACHE: dict[str, tuple[float, dict[str, Any]]] = {}


@dataclass(frozen=True)
class Upstream:
    """One connection's client registration at its provider."""

    connection: ConnectionInfo
    client_id: str
    client_secret: str | None  # None: a public client (front_channel)
    scope: str
    issuer: str | None
    discovery_url: str | None
    explicit: dict[str, str]  # endpoints named in options
    algs: tuple[str, ...]
    auth_method: str  # client_secret_post | client_secret_basic | none


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algs: tuple[str, ...]


def upstream(conn: ConnectionInfo, kek: bytes) -> Upstream:
    o = conn.options
    secret = secrets.unseal(kek, o.get("client_secret")) if o.get("type", "back_channel") == "back_channel" else None
    explicit = {k: str(o[k]) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if o.get(k)}
    algs = tuple(a for a in (o.get("id_token_signed_response_algs") or ["RS256"]) if a in ALLOWED_ALGS)
    method = "none" if secret is None else str(o.get("token_endpoint_auth_method") or "client_secret_post")
    return Upstream(
        conn,
        str(o.get("client_id", "")),
        secret,
        str(o.get("scope") or "openid profile email"),
        o.get("issuer") or None,
        o.get("discovery_url") or None,
        explicit,
        algs,
        method,
    )


def discovery_url(up: Upstream) -> str | None:
    if up.discovery_url:
        return up.discovery_url
    if up.issuer and len(up.explicit) < 3:
        return up.issuer.rstrip("/") + DISCOVERY_PATH
    return None


async def _cached_json(settings: Settings, url: str, now: float, *, fresh: bool = False) -> dict[str, Any]:
    check_url(settings, url)  # a cached document too: the address policy is the current settings'
    hit = _CACHE.get(url)
    if hit is not None and hit[0] > now and not fresh:
        return hit[1]
    data = await get_json(settings, url)
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[url] = (now + settings.connections_metadata_ttl, data)
    return data


def _endpoint(settings: Settings, doc: dict[str, Any], up: Upstream, name: str) -> str:
    value = up.explicit.get(name) or doc.get(name)
    if not isinstance(value, str) or not value:
        raise UpstreamError(f"The identity provider's configuration has no {name}.")
    check_url(settings, value)  # the browser is sent to one, we call the others: https only
    return value


async def provider(settings: Settings, up: Upstream, now: float) -> Provider:
    """The provider's issuer, endpoints and usable ID token algorithms."""
    url = discovery_url(up)
    doc = await _cached_json(settings, url, now) if url else {}
    issuer = doc.get("issuer") if url else up.issuer
    if not isinstance(issuer, str) or not issuer or (up.issuer and issuer != up.issuer):
        raise UpstreamError("The identity provider's discovery document names another issuer.")
    supported = doc.get("id_token_signing_alg_values_supported")
    algs = tuple(a for a in up.algs if not isinstance(supported, list) or a in supported)
    if not algs:
        raise UpstreamError("The identity provider signs ID tokens with no algorithm this connection allows.")
    authorize, token, jwks = (
        _endpoint(settings, doc, up, n) for n in ("authorization_endpoint", "token_endpoint", "jwks_uri")
    )
    return Provider(issuer, authorize, token, jwks, algs)


async def jwks(settings: Settings, p: Provider, now: float, *, fresh: bool = False) -> dict[str, Any]:
    return await _cached_json(settings, p.jwks_uri, now, fresh=fresh)
