"""The grant registry: each grant type is a class with ``GRANT_TYPE`` and ``issue(ctx)``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from starlette.requests import Request

from consentry.config_records import ClientInfo
from consentry.runtime import Runtime


@dataclass
class TokenContext:
    rt: Runtime
    request: Request
    params: dict[str, str]
    client: ClientInfo
    ip: str


class Grant(Protocol):
    GRANT_TYPE: ClassVar[str]

    async def issue(self, ctx: TokenContext) -> dict[str, Any]: ...


GRANTS: dict[str, Grant] = {}


def register(grant: Grant) -> Grant:
    GRANTS[grant.GRANT_TYPE] = grant
    return grant
