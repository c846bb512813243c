"""Every Management API v2 router, in the order they are mounted."""

from consentry.management.routers import client_grants, clients, connections, grants, resource_servers, users
from consentry.management.routers import dcr as dcr_routes

ROUTERS = [
    dcr_routes.router, clients.router, resource_servers.router, client_grants.router, grants.router, users.router,
    connections.router,
]  # fmt: skip
