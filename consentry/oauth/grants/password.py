"""``password`` and Auth0's ``password-realm`` grants: first-party clients only, no consent (SPEC C9).

The plain grant searches the tenant's ``default_directory``; the realm grant the named connection.
Failed attempts share the login form's per-user-and-IP limit.
"""

from __future__ import annotations

from typing import Any, ClassVar

from consentry.login.passwords import verify_password_off_loop
from consentry.oauth.access import USER, api_access, split_scopes
from consentry.oauth.authorize.permissions import permissions_for
from consentry.oauth.authorize.request import IDENTITY_SCOPES, OFFLINE
from consentry.oauth.client_auth import require_grant_type
from consentry.oauth.client_rules import PASSWORD_REALM
from consentry.oauth.errors import ACCESS_DENIED, INVALID_GRANT, INVALID_REQUEST, UNAUTHORIZED_CLIENT, OAuthError
from consentry.oauth.grants.base import TokenContext, register
from consentry.oauth.params import scope_list
from consentry.services import audit, rate_limit
from consentry.storage import logins, user_records
from consentry.storage.models import User
from consentry.tokens.issue import UserTokenRequest, issue_user_tokens

WRONG = "Wrong email or password."


class PasswordGrant:
    GRANT_TYPE: ClassVar[str] = "password"

    async def issue(self, ctx: TokenContext) -> dict[str, Any]:
        rt, client, params = ctx.rt, ctx.client, ctx.params
        if client.is_third_party:
            raise UNAUTHORIZED_CLIENT.with_hint("Third-party applications cannot use password grants.")
        require_grant_type(client, self.GRANT_TYPE)
        username, password = params.get("username"), params.get("password")
        if not username or not password:
            raise INVALID_REQUEST.with_hint("Missing required parameter: username and password")
        tenant = await rt.catalog.tenant()
        realm = params.get("realm") if self.GRANT_TYPE == PASSWORD_REALM else tenant.get("default_directory")
        connection = next((c for c in await rt.catalog.connections(client.client_id) if c.name == realm), None)
        if connection is None or connection.strategy != "auth0":
            raise INVALID_REQUEST.with_hint(f"Unknown connection: {str(realm)[:128]}")
        if client.client_id not in connection.enabled_clients and not connection.is_domain_connection:
            raise INVALID_REQUEST.with_hint("The connection is not enabled for this client.")
        audience = params.get("audience") or params.get("resource") or tenant.get("default_audience") or None
        api = await rt.catalog.api(audience) if audience else None
        if audience and api is None:
            raise ACCESS_DENIED.with_hint(f"Service not enabled within domain: {audience[:200]}")
        requested = scope_list(params.get("scope"))
        scopes = [s for s in requested if s in IDENTITY_SCOPES]
        if OFFLINE in requested and (api is None or api.allow_offline_access):
            scopes.append(OFFLINE)
        if api is not None:
            access = api_access(client, api, await rt.catalog.client_grants(api.identifier, client.client_id), USER)
            if not access.allowed:
                raise ACCESS_DENIED.with_hint(f"The application is not authorized to access {api.name}.")
            scopes += split_scopes([s for s in requested if s not in scopes], access.ceiling)[0]
        user = await self._authenticate(ctx, connection.id, username.strip().lower(), password)
        permitted = await permissions_for(rt, api, user.user_id)
        if permitted is not None:  # an API that enforces RBAC: only the permissions the user holds
            scopes = [s for s in scopes if s in IDENTITY_SCOPES or s == OFFLINE or s in permitted]
        if api is not None:  # the API's key ring exists before the transaction that signs (tokens/keys.py)
            await rt.keys.signing_key(api.signing_alg)
        async with rt.db.transaction() as s:
            audit.record(
                s,
                rt.clock.now(),
                audit.PASSWORD_EXCHANGED,
                f"Successful {self.GRANT_TYPE} grant",
                client_id=client.client_id,
                user_id=user.user_id,
                ip=ctx.ip,
            )
            return await issue_user_tokens(
                rt, s, UserTokenRequest(client, user_records.of(user), tuple(scopes), api, None, rt.clock.now())
            )

    async def _authenticate(self, ctx: TokenContext, connection_id: str, login: str, password: str) -> User:
        rt = ctx.rt
        key = rate_limit.login_failure_key(ctx.ip, login)
        if await rate_limit.count(rt, key, rt.settings.login_failure_window) >= rt.settings.login_max_failures:
            raise OAuthError("too_many_attempts", "Too many failed attempts. Try again later.", 429)
        user = await logins.find_user(rt.db, connection_id, login)
        matches = await verify_password_off_loop(user.password_hash if user else None, password)
        if not matches or user is None or user.blocked:
            await rate_limit.hit(rt, key, rt.settings.login_max_failures, rt.settings.login_failure_window)
            raise INVALID_GRANT.with_hint(WRONG)
        return user


class PasswordRealmGrant(PasswordGrant):
    GRANT_TYPE: ClassVar[str] = PASSWORD_REALM


register(PasswordGrant())
register(PasswordRealmGrant())
