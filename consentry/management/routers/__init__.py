"""Every Management API v2 router, in the order they are mounted."""

from consentry.management.routers import clients

ROUTERS = [clients.router]
