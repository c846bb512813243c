"""``create_app(settings)``: mounts routers, middleware and error handlers. No logic lives here."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from consentry import admin
from consentry.clock import Clock
from consentry.config_cache import RequestSnapshot
from consentry.consent import routes as consent_routes
from consentry.login import dbconnections, signup_routes, ticket_routes
from consentry.login import federated as federated_login
from consentry.login import routes as login_routes
from consentry.oauth.authorize import routes as authorize_routes
from consentry.oauth.cors import CorsMiddleware
from consentry.oauth.routers import logout as logout_routes
from consentry.oauth.routers import metadata as metadata_routes
from consentry.oauth.routers import registration as registration_routes
from consentry.oauth.routers import token as token_routes
from consentry.oauth.routers import token_checks as token_check_routes
from consentry.runtime import Runtime
from consentry.services import dcr_prune, job_runner, webhook_dispatch
from consentry.settings import Settings, load_settings
from consentry.ui import apps_routes, welcome_routes
from consentry.ui.render import STATIC, render_error
from consentry.web import (
    BodyLimitMiddleware,
    EndpointFastLane,
    LastResort,
    LazyRouters,
    MetadataFastPath,
    SecurityHeadersMiddleware,
    install_error_handlers,
)


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, clock: Clock | None = None
) -> FastAPI:
    rt = runtime or Runtime.create(settings or load_settings(), clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await rt.keys.reload()
        pruner = dcr_prune.start_periodic(rt)
        deliveries = webhook_dispatch.start(rt)  # queued webhook events (services/webhook_dispatch.py)
        job_poller = job_runner.start_periodic(rt)  # users imports and exports, resumed after a restart
        if rt.notifier is not None:
            await rt.notifier.start()  # configuration and key changes made by the other processes
        yield
        await rt.mint_log.flush()
        if rt.notifier is not None:
            await rt.notifier.stop()
        await dcr_prune.stop_periodic(pruner)
        await webhook_dispatch.stop(deliveries)
        await job_runner.stop_periodic(job_poller)
        if runtime is None:
            await rt.db.dispose()

    app = FastAPI(
        title="Consentry",
        version="0.1.0",
        description="Auth0-compatible OAuth 2.0 / OpenID Connect server for third-party applications and consent.",
        lifespan=lifespan,
        openapi_url="/api/v2/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = rt
    install_error_handlers(app, render_page_error=render_error)  # web/ draws no HTML of its own
    app.add_middleware(LazyRouters, prefix="/api/v2", load=_management_api_loader(app))  # innermost
    app.add_middleware(LazyRouters, prefix="/admin", load=_lazy_mount(app, admin.routers))
    app.add_middleware(
        EndpointFastLane,
        routes={
            "/oauth/token": token_routes.token_endpoint,
            "/oauth/introspect": token_check_routes.introspect_endpoint,
        },
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(CorsMiddleware, runtime=rt)  # preflights and 413s get CORS handling
    app.add_middleware(RequestSnapshot)  # one catalog snapshot per request (config_cache.py)
    # JWKS and discovery as cached bytes, outside the snapshot: they read no change counter (their
    # answers are cached 60 s by every HTTP client anyway; the tenant settings they show follow within cache_ttl)
    app.add_middleware(MetadataFastPath, runtime=rt)
    app.add_middleware(LastResort)  # an unexpected error is a clean 500 that keeps the connection (web/middleware.py)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for routes in (metadata_routes, token_routes, token_check_routes, logout_routes, registration_routes):
        app.include_router(routes.router)
    app.include_router(authorize_routes.router)
    app.include_router(login_routes.router)
    app.include_router(federated_login.router)
    app.include_router(signup_routes.router)
    app.include_router(ticket_routes.router)
    app.include_router(dbconnections.router)
    app.include_router(consent_routes.router)
    app.include_router(apps_routes.router)
    app.include_router(welcome_routes.router)
    admin.install(app)  # the dashboard and the Management API routers follow, on first use (LazyRouters)
    logging.getLogger("consentry").setLevel(rt.settings.log_level.upper())
    return app


def _lazy_mount(app: FastAPI, routers: Callable[[], Iterable[APIRouter]]) -> Callable[[], None]:
    """A loader that imports and includes ``routers()`` once, after every route included so far."""
    loaded = False

    def load() -> None:
        nonlocal loaded
        if loaded:
            return
        for router in routers():
            app.include_router(router)
        app.openapi_schema = None
        loaded = True

    return load


def _management_routers() -> Iterable[APIRouter]:
    from consentry.management.routers import ROUTERS

    return ROUTERS


def _management_api_loader(app: FastAPI) -> Callable[[], None]:
    """Import and mount the Management API once: on the first ``/api/v2`` request or OpenAPI document.

    Its routers, schemas and their validators are ~2.5 MB per worker (performance.md, memory) that a worker
    serving only OAuth traffic never uses. They are included after every other route, as before.
    """
    load = _lazy_mount(app, _management_routers)
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        load()
        return build_openapi()

    app.openapi = openapi  # type: ignore[method-assign]
    return load


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory`` in each worker process."""
    app = create_app()
    # The ~130k objects alive after start-up never become garbage: keep them out of every later cycle
    # collection, which otherwise stops the worker for tens of milliseconds (p99, docs/performance.md).
    gc.collect()
    gc.freeze()
    return app
