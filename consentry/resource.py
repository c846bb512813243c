"""For APIs and MCP servers behind Consentry: validate its JWT access tokens and publish RFC 9728 metadata.

Import this module in the resource server; it depends only on httpx, PyJWT and Starlette (no database,
no Consentry settings). ``TokenValidator`` discovers the issuer's JWKS (RFC 8414), caches it and
validates RS256 access tokens (RFC 9068 / Auth0 dialect) offline: a revoked token stays valid there until it
expires. ``RevocationCheckingValidator`` also asks the issuer's introspection endpoint (RFC 7662), with a
short cache, so that a revoked consent, a blocked user or a deleted app ends the token within ``cache_ttl``
seconds (cost: one introspection round trip per distinct token per ``cache_ttl``). ``ProtectedResource`` answers the
RFC 6750 challenges with the RFC 9728 ``resource_metadata`` pointer MCP clients follow, and
``ProtectedResourceMiddleware`` wires both into any ASGI app.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("consentry.resource")

ALGORITHMS = ["RS256"]
ACCEPTED_TYP = {"at+jwt", "application/at+jwt", "jwt"}  # RFC 9068 §2.1; Auth0's dialect uses "JWT"
MAX_TOKEN_LENGTH = 16 * 1024
MAX_BODY_INSPECTED = 1024 * 1024
WELL_KNOWN = "/.well-known/oauth-protected-resource"
_UNQUOTABLE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


class InvalidToken(Exception):
    """The token is missing its signature key, malformed, forged, expired or meant for another resource."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InsufficientScope(Exception):
    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__("missing scope: " + " ".join(missing))
        self.missing = list(missing)


class ValidatorUnavailable(Exception):
    """The issuer's metadata or JWKS could not be fetched and no usable keys are cached."""


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
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
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


def token_scopes(claims: Mapping[str, Any]) -> set[str]:
    """Granted scopes: RFC 9068 ``scope`` (space-separated) plus Auth0 RBAC ``permissions``."""
    scope = claims.get("scope")
    values = set(scope.split()) if isinstance(scope, str) else set()
    permissions = claims.get("permissions")
    if isinstance(permissions, list):
        values.update(p for p in permissions if isinstance(p, str))
    return values


def require_scopes(claims: Mapping[str, Any], required: Iterable[str]) -> None:
    missing = [s for s in required if s not in token_scopes(claims)]
    if missing:
        raise InsufficientScope(missing)


def metadata_url(resource: str) -> str:
    """RFC 9728 §3.1: the well-known segment goes between the host and the resource's path."""
    parts = urlsplit(resource)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{path}"


def protected_resource_metadata(
    resource: str,
    issuer: str,
    scopes_supported: Sequence[str],
    *,
    resource_name: str | None = None,
    resource_documentation: str | None = None,
) -> dict[str, Any]:
    """The RFC 9728 §2 document; ``authorization_servers`` holds the exact issuer string."""
    doc: dict[str, Any] = {
        "resource": resource,
        "authorization_servers": [issuer],
        "scopes_supported": list(scopes_supported),
        "bearer_methods_supported": ["header"],
    }
    if resource_name:
        doc["resource_name"] = resource_name
    if resource_documentation:
        doc["resource_documentation"] = resource_documentation
    return doc


def _quoted(value: str) -> str:
    return '"' + _UNQUOTABLE.sub("?", value)[:300] + '"'


class ProtectedResource:
    """One protected resource: its validator, its metadata and its RFC 6750 answers."""

    def __init__(
        self,
        validator: TokenValidator,
        scopes_supported: Sequence[str] = (),
        *,
        resource_name: str | None = None,
        resource_documentation: str | None = None,
    ) -> None:
        self.validator = validator
        self.resource, self.issuer = validator.resource, validator.issuer
        self.scopes_supported = list(scopes_supported)
        self.metadata = protected_resource_metadata(
            self.resource,
            self.issuer,
            self.scopes_supported,
            resource_name=resource_name,
            resource_documentation=resource_documentation,
        )
        self.metadata_url = metadata_url(self.resource)
        self.metadata_paths = tuple(dict.fromkeys([urlsplit(self.metadata_url).path, WELL_KNOWN]))

    def challenge(self, error: str | None = None, description: str | None = None, scope: Sequence[str] = ()) -> str:
        """``WWW-Authenticate`` value; no ``error`` when no token was sent (RFC 6750 §3.1)."""
        parts = []
        if error:
            parts.append(f"error={_quoted(error)}")
        if description:
            parts.append(f"error_description={_quoted(description)}")
        parts.append(f"resource_metadata={_quoted(self.metadata_url)}")
        if scope:
            parts.append(f"scope={_quoted(' '.join(scope))}")
        return "Bearer " + ", ".join(parts)

    def error_response(self, status: int, error: str | None, description: str, scope: Sequence[str] = ()) -> Response:
        body = {"error": error or "invalid_token", "error_description": description}
        headers = {
            "WWW-Authenticate": self.challenge(error, description if error else None, scope),
            "Cache-Control": "no-store",
        }
        return JSONResponse(body, status_code=status, headers=headers)

    def metadata_response(self) -> Response:
        return JSONResponse(
            self.metadata, headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
        )

    def metadata_routes(self) -> list[Route]:
        async def endpoint(_: Request) -> Response:
            return self.metadata_response()

        return [Route(path, endpoint, methods=["GET"]) for path in self.metadata_paths]

    async def authenticate(self, conn: HTTPConnection, required: Sequence[str] = ()) -> dict[str, Any]:
        """Claims of the request's bearer token, or an ``AuthError`` carrying the 401/403/503 response."""
        challenge_scope = list(required) or self.scopes_supported
        header = conn.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header or scheme.lower() != "bearer":
            raise AuthError(self.error_response(401, None, "An access token is required.", challenge_scope))
        try:
            claims = await self.validator.validate(token.strip())
            require_scopes(claims, required)
        except InvalidToken as exc:
            raise AuthError(self.error_response(401, "invalid_token", exc.description, challenge_scope)) from None
        except InsufficientScope as exc:
            description = "The access token lacks the required scope: " + " ".join(exc.missing)
            raise AuthError(self.error_response(403, "insufficient_scope", description, required)) from None
        except ValidatorUnavailable as exc:
            log.error("cannot validate tokens: %s", exc)
            body = {"error": "temporarily_unavailable", "error_description": "Token validation is unavailable."}
            raise AuthError(JSONResponse(body, status_code=503, headers={"Retry-After": "5"})) from None
        return claims

    def requires(self, *scopes: str) -> Callable[[Request], Any]:
        """A FastAPI dependency: ``claims = Depends(protected.requires("read:notes"))``."""

        async def dependency(request: Request) -> dict[str, Any]:
            try:
                return await self.authenticate(request, scopes)
            except AuthError as exc:
                detail = json.loads(bytes(exc.response.body)).get("error_description", "")
                headers = {k: v for k, v in exc.response.headers.items() if k in ("www-authenticate", "retry-after")}
                raise HTTPException(exc.response.status_code, detail, headers) from None

        return dependency


class AuthError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _mcp_tool_names(body: bytes) -> list[str]:
    """The tools a JSON-RPC ``tools/call`` request (or batch) names, from the MCP streamable HTTP POST body."""
    try:
        message = json.loads(body)
    except ValueError:
        return []
    names = []
    for item in message if isinstance(message, list) else [message]:
        params = item.get("params") if isinstance(item, dict) and item.get("method") == "tools/call" else None
        name = params.get("name") if isinstance(params, dict) else None
        names.append(name if isinstance(name, str) else "")
    return names


class ProtectedResourceMiddleware:
    """ASGI middleware: serves the RFC 9728 documents and requires a valid bearer token under ``paths``.

    ``required_scopes`` apply to every protected request; ``tool_scopes`` maps MCP tool names to the
    scopes a ``tools/call`` for that tool needs (answered with 403 ``insufficient_scope`` before the
    MCP server runs, so clients can step up). Validated claims are put in ``scope["state"]["claims"]``.
    """

    def __init__(
        self,
        app: ASGIApp,
        protected: ProtectedResource,
        *,
        paths: Sequence[str] = ("/",),
        required_scopes: Sequence[str] = (),
        tool_scopes: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.app, self.protected = app, protected
        self.paths = tuple(paths)
        self.required_scopes = list(required_scopes)
        self.tool_scopes = {k: list(v) for k, v in (tool_scopes or {}).items()}

    def _is_protected(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in self.protected.metadata_paths and scope["method"] in ("GET", "HEAD"):
            await self.protected.metadata_response()(scope, receive, send)
            return
        if not self._is_protected(path) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        required = list(self.required_scopes)
        if self.tool_scopes and scope["method"] == "POST":
            body, receive = await _buffer(receive)
            if body is None:
                await JSONResponse(
                    {"error": "invalid_request", "error_description": "Request body too large."}, status_code=413
                )(scope, receive, send)
                return
            for name in _mcp_tool_names(body):
                required += [s for s in self.tool_scopes.get(name, []) if s not in required]
        try:
            claims = await self.protected.authenticate(HTTPConnection(scope), required)
        except AuthError as exc:
            await exc.response(scope, receive, send)
            return
        scope.setdefault("state", {})["claims"] = claims
        await self.app(scope, receive, send)


async def _buffer(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read the whole body (None when over the limit) and give back a ``receive`` that replays it."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_INSPECTED:
            return None, receive
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
