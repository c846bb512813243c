"""Every Management API v2 router, in the order they are mounted, each documenting Auth0's error responses."""

from fastapi import APIRouter

from consentry.management.errors import ERROR_RESPONSES
from consentry.management.routers import (
    actions,
    cimd_clients,
    client_credentials,
    client_grants,
    clients,
    connections,
    grants,
    jobs,
    logs,
    resource_servers,
    roles,
    signing_keys,
    tenant_settings,
    tickets,
    user_access,
    user_blocks,
    user_sessions,
    users,
    webhooks,
    xaa_policies,
)
from consentry.management.routers import dcr as dcr_routes


def _documented(router: APIRouter) -> APIRouter:
    outer = APIRouter()
    outer.include_router(router, responses=ERROR_RESPONSES)
    return outer


ROUTERS = [
    _documented(r)
    for r in (
        dcr_routes.router,
        cimd_clients.router,
        clients.router,
        client_credentials.router,
        resource_servers.router,
        client_grants.router,
        grants.router,
        users.router,
        tickets.router,
        user_sessions.router,
        user_blocks.router,
        jobs.router,
        user_access.router,
        roles.router,
        connections.router,
        tenant_settings.router,
        signing_keys.router,
        logs.router,
        xaa_policies.router,
        webhooks.router,
        actions.router,
    )
]
