"""Every Management API v2 router, in the order they are mounted."""

from consentry.management.routers import (
    client_grants,
    clients,
    connections,
    grants,
    logs,
    resource_servers,
    signing_keys,
    tenant_settings,
    users,
)
from consentry.management.routers import dcr as dcr_routes

ROUTERS = [
    dcr_routes.router, clients.router, resource_servers.router, client_grants.router, grants.router, users.router,
    connections.router, tenant_settings.router, signing_keys.router, logs.router,
]  # fmt: skip
