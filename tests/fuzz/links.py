"""OpenAPI links for stateful fuzzing: which create operation feeds which id into which follow-up operation.

FastAPI does not emit links, so the fuzz tests add them to their copy of the document: a scenario then
creates a client (or API, grant, user, connection, key, token) and goes on to read, update, rotate and delete
that very object, which reaches code a random id never does.
"""

from __future__ import annotations

import copy
from typing import Any

# (path, method, status) of the producer -> (expression for the id, parameter name, consumer operation ids)
LINKS: list[tuple[tuple[str, str, str], str, str, list[str]]] = [
    (
        ("/api/v2/clients", "post", "201"),
        "$response.body#/client_id",
        "client_id",
        [
            "get_clients_by_id",
            "patch_clients_by_id",
            "delete_clients_by_id",
            "post_rotate_secret",
            "post_approve_client",
        ],
    ),
    (
        ("/api/v2/resource-servers", "post", "201"),
        "$response.body#/id",
        "rs_id",
        ["get_resource_servers_by_id", "patch_resource_servers_by_id", "delete_resource_servers_by_id"],
    ),
    (
        ("/api/v2/client-grants", "post", "201"),
        "$response.body#/id",
        "grant_id",
        ["get_client_grants_by_id", "patch_client_grants_by_id", "delete_client_grants_by_id"],
    ),
    (
        ("/api/v2/users", "post", "201"),
        "$response.body#/user_id",
        "user_id",
        [
            "get_users_by_id",
            "patch_users_by_id",
            "delete_users_by_id",
            "get_permissions",
            "post_permissions",
            "delete_permissions",
            "get_user_roles",
            "post_user_roles",
            "delete_user_roles",
        ],
    ),
    (
        ("/api/v2/roles", "post", "200"),
        "$response.body#/id",
        "role_id",
        [
            "get_roles_by_id",
            "patch_roles_by_id",
            "delete_roles_by_id",
            "get_role_permission",
            "post_role_permission_assignment",
            "delete_role_permission_assignment",
            "get_role_user",
            "post_role_users",
        ],
    ),
    (
        ("/api/v2/connections", "post", "201"),
        "$response.body#/id",
        "connection_id",
        [
            "get_connections_by_id",
            "patch_connections_by_id",
            "delete_connections_by_id",
            "get_connection_clients",
            "patch_connection_clients",
        ],
    ),
    (
        ("/api/v2/keys/signing/rotate", "post", "201"),
        "$response.body#/kid",
        "kid",
        ["get_signing_key", "put_signing_keys"],
    ),
    (
        ("/api/v2/dcr/initial-access-tokens", "post", "201"),
        "$response.body#/id",
        "token_id",
        ["delete_dcr_initial_access_token"],
    ),
]


def with_links(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` with the links above (skipping operations the schema does not have)."""
    doc = copy.deepcopy(document)
    known = {op.get("operationId") for ops in doc["paths"].values() for op in ops.values() if isinstance(op, dict)}
    for (path, method, status), expression, parameter, consumers in LINKS:
        producer = doc["paths"].get(path, {}).get(method)
        if producer is None:
            continue
        response = producer.setdefault("responses", {}).setdefault(status, {"description": "Created"})
        links = response.setdefault("links", {})
        for operation_id in consumers:
            if operation_id in known:
                links[operation_id] = {"operationId": operation_id, "parameters": {parameter: expression}}
    return doc


def link_count(document: dict[str, Any]) -> int:
    return sum(
        len(resp.get("links", {}))
        for ops in document["paths"].values()
        for op in ops.values()
        if isinstance(op, dict)
        for resp in op.get("responses", {}).values()
    )
