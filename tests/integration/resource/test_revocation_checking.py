"""RevocationCheckingValidator: offline validation plus the issuer's introspection verdict, cached briefly."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import delete

from consentry.runtime import Runtime
from consentry.storage.models import ClientGrant
from consentry_resource import InvalidToken, RevocationCheckingValidator, TokenValidator, ValidatorUnavailable
from tests.integration.resource.conftest import TokenFactory


@pytest.fixture
def clock() -> list[float]:
    return [1_000.0]


@pytest.fixture
def checking(
    runtime: Runtime, as_http: httpx.AsyncClient, notes_api: str, m2m_credentials: dict[str, str], clock: list[float]
) -> RevocationCheckingValidator:
    return RevocationCheckingValidator(
        runtime.settings.issuer_url,
        notes_api,
        http_client=as_http,
        cache_ttl=10,
        clock=lambda: clock[0],
        **m2m_credentials,
    )


async def revoke_client_grant(runtime: Runtime, audience: str) -> None:
    async with runtime.db.transaction() as s:
        await s.execute(delete(ClientGrant).where(ClientGrant.audience == audience))
    runtime.catalog.invalidate()


async def test_a_revoked_token_is_refused_once_the_cached_verdict_expires(
    runtime: Runtime,
    checking: RevocationCheckingValidator,
    validator: TokenValidator,
    mint: TokenFactory,
    notes_api: str,
    clock: list[float],
) -> None:
    token = await mint()
    assert (await checking.validate(token))["scope"] == "read:notes write:notes"
    await checking.validate(token)
    assert checking.introspection_count == 1, "an active verdict is cached"
    await revoke_client_grant(runtime, notes_api)
    assert await checking.validate(token), "within cache_ttl the cached verdict stands (the stated cost)"
    clock[0] += 11
    with pytest.raises(InvalidToken, match="revoked"):
        await checking.validate(token)
    with pytest.raises(InvalidToken, match="revoked"):
        await checking.validate(token)
    assert checking.introspection_count == 2, "an inactive verdict is cached until the token expires"
    assert await validator.validate(token), "offline validation alone cannot see the revocation"


async def test_forged_tokens_cost_no_introspection(checking: RevocationCheckingValidator) -> None:
    with pytest.raises(InvalidToken):
        await checking.validate("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
    assert checking.introspection_count == 0


async def test_wrong_credentials_fail_closed(
    runtime: Runtime, as_http: httpx.AsyncClient, notes_api: str, mint: TokenFactory
) -> None:
    v = RevocationCheckingValidator(
        runtime.settings.issuer_url, notes_api, http_client=as_http, client_id="nobody", client_secret="wrong"
    )
    with pytest.raises(ValidatorUnavailable):
        await v.validate(await mint())
