"""Auth0's database-connection endpoints: ``POST /dbconnections/signup`` and ``/dbconnections/change_password``.

Bodies are JSON or form-encoded, as Auth0 accepts. Errors use the Authentication API's signup shape,
``{"name", "code", "description", "statusCode"}`` (``PasswordStrengthError`` adds Auth0's ``policy`` and the
rules in ``description``; a disabled signup adds ``error: "public signup is disabled"``). ``change_password``
answers 200 with Auth0's text whether or not the address is known (no user enumeration).
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import PlainTextResponse, Response

from consentry.commands.tickets import ChangePasswordBody, SignupBody
from consentry.config_records import ClientInfo, ConnectionInfo
from consentry.login import password_policy
from consentry.oauth.access import allowed_connections
from consentry.runtime import Runtime
from consentry.services import audit, signup
from consentry.services.errors import Kind, ServiceError
from consentry.web import NO_STORE, client_ip, json_response

router = APIRouter(tags=["Authentication API"])
PROFILE = ("given_name", "family_name", "name", "nickname", "picture")
M = TypeVar("M", bound=BaseModel)


class DbError(Exception):
    def __init__(self, status: int, code: str, description: Any, name: str = "BadRequestError", **extra: Any) -> None:
        super().__init__(code)
        self.status, self.body = status, {"name": name, "code": code, "description": description, **extra}

    def response(self) -> Response:
        return json_response({**self.body, "statusCode": self.status}, self.status, NO_STORE)


async def _body(request: Request, model: type[M]) -> M:
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            data = await request.json()
        else:
            data = dict(await request.form())
    except ValueError:
        raise DbError(400, "invalid_body", "The body is not valid JSON or form data.") from None
    if not isinstance(data, dict):
        raise DbError(400, "invalid_body", "The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "missing":
            raise DbError(400, "invalid_body", f"Missing required parameter: {where}") from None
        raise DbError(400, "invalid_body", f"Invalid parameter {where}: {err['msg']}") from None


async def _client_connection(rt: Runtime, client_id: str, name: str) -> tuple[ClientInfo, ConnectionInfo | None]:
    """The application and, among the connections it may use (SPEC T6), the one named ``name``."""
    client = await rt.catalog.client(client_id)
    if client is None:
        raise DbError(400, "invalid_client", "Unknown client.", name="BadRequestError")
    usable = allowed_connections(client, await rt.catalog.connections(client_id))
    return client, next((c for c in usable if c.name == name and c.strategy == "auth0"), None)


@router.post("/dbconnections/signup", summary="Sign up a user in a database connection")
async def signup_endpoint(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    try:
        body = await _body(request, SignupBody)
        client, connection = await _client_connection(rt, body.client_id, body.connection)
        return await _sign_up(rt, request, body, client, connection)
    except DbError as err:
        return err.response()


async def _sign_up(
    rt: Runtime, request: Request, body: SignupBody, client: ClientInfo, connection: ConnectionInfo | None
) -> Response:
    ip = client_ip(request)
    refusal = signup.signup_refusal(connection)
    if refusal is not None or connection is None:
        if refusal == "signup_disabled":
            await _failed(rt, client, ip, "public signup is disabled")
            raise DbError(400, "operation_not_allowed", "public signup is disabled", error="public signup is disabled")
        raise DbError(400, "connection_not_found", "The connection does not exist or is not enabled for the client.")
    verdict = password_policy.check(connection.options, body.password)
    if not verdict.ok:
        await _failed(rt, client, ip, "Password is too weak")
        raise DbError(
            400,
            "invalid_password",
            {"rules": [r.json() for r in verdict.rules], "verified": False},
            name="PasswordStrengthError",
            message="Password is too weak",
            policy=verdict.summary,
        )
    profile = {k: getattr(body, k) for k in PROFILE if getattr(body, k) is not None}
    try:
        row = await signup.sign_up(
            rt,
            signup.Signup(
                client=client,
                connection=connection,
                email=body.email,
                password=body.password,
                ip=ip,
                username=body.username,
                profile=profile,
                user_metadata=body.user_metadata,
            ),
        )
    except ServiceError as err:
        await _failed(rt, client, ip, err.message)
        if err.code == signup.TOO_MANY:
            raise DbError(429, "too_many_requests", err.message, name="TooManyRequestsError") from None
        if err.kind == Kind.CONFLICT:
            raise DbError(400, "user_exists", "The user already exists.") from None
        raise DbError(400, "invalid_signup", err.message) from None
    answer: dict[str, Any] = {"_id": row.user_id.split("|", 1)[1], "email_verified": row.email_verified}
    answer["email"] = row.email
    if row.username:
        answer["username"] = row.username
    answer.update(profile)
    if body.user_metadata:
        answer["user_metadata"] = body.user_metadata
    return json_response(answer, 200, NO_STORE)


async def _failed(rt: Runtime, client: ClientInfo, ip: str, description: str) -> None:
    async with rt.db.write() as conn:
        await audit.write(conn, rt.clock.now(), signup.SIGNUP_FAILURE, description, client_id=client.client_id, ip=ip)


@router.post("/dbconnections/change_password", summary="Send a password-reset email")
async def change_password_endpoint(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    try:
        body = await _body(request, ChangePasswordBody)
        client, connection = await _client_connection(rt, body.client_id, body.connection)
    except DbError as err:
        return err.response()
    if connection is None:
        return DbError(400, "connection_not_found", "The connection does not exist or is not enabled.").response()
    await signup.request_reset(rt, client, connection, body.email, client_ip(request))
    return PlainTextResponse(signup.RESET_SENT_TEXT, headers=NO_STORE)
