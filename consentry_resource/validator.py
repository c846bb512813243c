"""Validating the issuer's JWT access tokens offline (``TokenValidator``), and with its revocation verdict.

``TokenValidator`` discovers the issuer's JWKS (RFC 8414), caches it and validates RS256 or ES256 access tokens
(RFC 9068 / Auth0 dialect) offline: a revoked token stays valid there until it expires.
``RevocationCheckingValidator`` also asks the issuer's introspection endpoint (RFC 7662), with a short cache.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from consentry_resource.errors import InvalidToken, ValidatorUnavailable

log = logging.getLogger("consentry.resource")  # the name it had inside the server package, kept for log configs

ALGORITHMS = ["RS256", "ES256"]  # ES256: APIs whose signing_alg opts in
ACCEPTED_TYP = {"at+jwt", "application/at+jwt", "jwt"}  # RFC 9068 §2.1; Auth0's dialect uses "JWT"
MAX_TOKEN_LENGTH = 16 * 1024


class TokenValidator:
    """Validates the issuer's access tokens for one resource, with a cached, rate-limited JWKS refresh."""

    def __init__(
        self,
        issuer: str,
        resource: str,
        *,
        jwks_ttl: float = 300,
        leeway: int = 30,
        http_client: httpx.AsyncClient | None = None,
        min_refresh_interval: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer, self.resource = issuer, resource
        self.jwks_ttl, self.leeway, self.min_refresh_interval = jwks_ttl, leeway, min_refresh_interval
        self._clock = clock
        self._own_client = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        self._jwks_uri: str | None = None
        self.metadata: dict[str, Any] = {}
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()
        self.fetch_count = 0  # how many JWKS fetches were made (for tests and metrics)

    async def aclose(self) -> None:
        if self._own_client:
            await self._http.aclose()

    def _metadata_urls(self) -> list[str]:
        """RFC 8414 §3.1 (well-known inserted before the issuer's path), then OIDC Discovery §4."""
        parts = urlsplit(self.issuer)
        origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
        urls = [
            f"{origin}/.well-known/oauth-authorization-server{path}",
            f"{origin}{path}/.well-known/openid-configuration",
        ]
        return list(dict.fromkeys(urls))

    async def _get_json(self, url: str) -> Any:
        response = await self._http.get(url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise ValidatorUnavailable(f"{url} answered {response.status_code}")
        return response.json()

    async def _discover(self) -> str:
        last: Exception | None = None
        for url in self._metadata_urls():
            try:
                doc = await self._get_json(url)
            except (httpx.HTTPError, ValueError, ValidatorUnavailable) as exc:
                last = exc
                continue
            if not isinstance(doc, dict) or doc.get("issuer") != self.issuer:  # RFC 8414 §3.3: exact match
                raise ValidatorUnavailable(f"metadata at {url} is for another issuer")
            jwks_uri = doc.get("jwks_uri")
            if not isinstance(jwks_uri, str) or urlsplit(jwks_uri).scheme not in ("http", "https"):
                raise ValidatorUnavailable(f"metadata at {url} has no usable jwks_uri")
            self.metadata = doc
            return jwks_uri
        raise ValidatorUnavailable(f"authorization server metadata unavailable: {last}")

    async def _refresh(self) -> None:
        self._attempted_at = self._clock()
        self.fetch_count += 1
        try:
            if self._jwks_uri is None:
                self._jwks_uri = await self._discover()
            doc = await self._get_json(self._jwks_uri)
            keys = {
                k.key_id: k for k in jwt.PyJWKSet.from_dict(doc).keys if k.key_id and k.algorithm_name in ALGORITHMS
            }
        except (httpx.HTTPError, ValueError, jwt.PyJWTError, ValidatorUnavailable) as exc:
            if not self._keys:
                raise ValidatorUnavailable(f"cannot load the issuer's signing keys: {exc}") from None
            log.warning("JWKS refresh failed, keeping the cached keys: %s", exc)
            return
        self._keys, self._fetched_at = keys, self._clock()

    async def _key(self, kid: str) -> jwt.PyJWK:
        now = self._clock()
        fresh = now - self._fetched_at < self.jwks_ttl
        if kid in self._keys and fresh:
            return self._keys[kid]
        async with self._lock:
            now = self._clock()
            stale = now - self._fetched_at >= self.jwks_ttl
            unknown = kid not in self._keys
            # An unknown kid refetches at most once per min_refresh_interval, so forged kids cannot flood the AS;
            # with no keys at all (the AS was down) a retry comes sooner.
            interval = self.min_refresh_interval if self._keys else min(1.0, self.min_refresh_interval)
            if (stale or unknown) and now - self._attempted_at >= interval:
                await self._refresh()
        if not self._keys:
            raise ValidatorUnavailable("the issuer's signing keys are not available yet")
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("the token is signed with an unknown key")
        return key

    async def validate(self, token: str) -> dict[str, Any]:
        """The token's claims when it is valid for this resource; raises ``InvalidToken`` otherwise."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        if header.get("alg") not in ALGORITHMS:  # never "none" or HMAC (RFC 8725 §3.1)
            raise InvalidToken("unsupported token algorithm")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYP:  # RFC 9068 §4
            raise InvalidToken("not an access token (typ)")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 256:
            raise InvalidToken("the token has no key id")
        key = await self._key(kid)
        if key.algorithm_name != header["alg"]:
            raise InvalidToken("the token's algorithm is not its key's")
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],
                issuer=self.issuer,
                audience=self.resource,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("the token is not meant for this resource") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token is from another issuer") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid token: {exc}") from None


class RevocationCheckingValidator(TokenValidator):
    """``TokenValidator`` plus the issuer's verdict on revocation (RFC 7662 introspection), cached per token.

    The resource server registers as a confidential machine-to-machine application (introspection needs client
    authentication). The signature and claims are checked first, offline, so forged tokens cost no round trip;
    an active answer is cached ``cache_ttl`` seconds, an inactive one until the token's ``exp``. When the
    issuer cannot be reached the token is refused (``ValidatorUnavailable``), never accepted unchecked.
    The claims returned carry the introspected ``scope``: what current decisions still allow.
    """

    MAX_CACHED = 10_000

    def __init__(
        self, issuer: str, resource: str, *, client_id: str, client_secret: str, cache_ttl: float = 10.0, **options: Any
    ) -> None:
        super().__init__(issuer, resource, **options)
        self._credentials = {"client_id": client_id, "client_secret": client_secret}
        self.cache_ttl = cache_ttl
        self._verdicts: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self.introspection_count = 0

    async def _introspect(self, token: str) -> dict[str, Any] | None:
        if not self.metadata:
            await self._discover()
        endpoint = self.metadata.get("introspection_endpoint")
        if not isinstance(endpoint, str):
            raise ValidatorUnavailable("the issuer publishes no introspection_endpoint")
        self.introspection_count += 1
        try:
            response = await self._http.post(endpoint, data={"token": token, **self._credentials})
            answer = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            raise ValidatorUnavailable(f"introspection failed: {exc}") from None
        if not isinstance(answer, dict):
            raise ValidatorUnavailable(f"introspection answered {response.status_code}")
        return answer if answer.get("active") is True else None

    async def validate(self, token: str) -> dict[str, Any]:
        claims = await super().validate(token)
        now = self._clock()
        cached = self._verdicts.get(token)
        if cached is None or cached[0] <= now:
            answer = await self._introspect(token)
            if len(self._verdicts) >= self.MAX_CACHED:
                self._verdicts = {k: v for k, v in self._verdicts.items() if v[0] > now}
            until = now + self.cache_ttl if answer is not None else float(claims["exp"])
            cached = self._verdicts[token] = (until, answer)
        answer = cached[1]
        if answer is None:
            raise InvalidToken("the token was revoked")
        return {**claims, "scope": answer.get("scope", claims.get("scope", ""))}
