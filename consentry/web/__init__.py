"""HTTP plumbing shared by every router, one job a module.

``responses`` (JSON answers, ``NO_STORE``), ``surfaces`` (which surface a path is, the caller's address),
``errors`` (every error in its surface's shape; the HTML page renderer is injected by ``app.py``),
``unavailable`` (database away or a bug), ``middleware`` (last-resort 500, body limit, security headers,
lazy routers) and ``fast_paths`` (JWKS/discovery bytes, the token endpoint without the router).
The names routers import are re-exported here.
"""

from __future__ import annotations

from consentry.web.errors import PageErrorRenderer, error_response, install_error_handlers
from consentry.web.fast_paths import EndpointFastLane, MetadataFastPath
from consentry.web.middleware import BodyLimitMiddleware, LastResort, LazyRouters, SecurityHeadersMiddleware
from consentry.web.responses import NO_STORE, ORJSONResponse, json_response
from consentry.web.surfaces import client_ip

__all__ = [
    "NO_STORE",
    "BodyLimitMiddleware",
    "EndpointFastLane",
    "LastResort",
    "LazyRouters",
    "MetadataFastPath",
    "ORJSONResponse",
    "PageErrorRenderer",
    "SecurityHeadersMiddleware",
    "client_ip",
    "error_response",
    "install_error_handlers",
    "json_response",
]
