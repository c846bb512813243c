"""Which signing key rings a tenant has (``tokens.keys.rings``): RS256 always, ES256 once wanted or present."""

from __future__ import annotations

import pytest

from consentry.storage.models import SigningKey
from consentry.tokens.keys import ES256, RS256, ring, rings


def keys(*algs: str) -> list[SigningKey]:
    return [SigningKey(kid=f"k{i}", alg=alg) for i, alg in enumerate(algs)]


@pytest.mark.parametrize(
    ("present", "wanted", "expected"),
    [
        pytest.param((), (), [RS256], id="a_new_tenant_has_the_rs256_ring"),
        pytest.param((RS256, RS256), (), [RS256], id="no_es256_ring_until_one_is_wanted"),
        pytest.param((RS256,), (ES256,), [RS256, ES256], id="a_wanted_ring_is_added_after_rs256"),
        pytest.param((ES256, RS256), (), [RS256, ES256], id="a_present_ring_stays_and_rs256_comes_first"),
        pytest.param((), (ES256, ES256), [RS256, ES256], id="wanted_twice_is_one_ring"),
    ],
)
def test_rings(present: tuple[str, ...], wanted: tuple[str, ...], expected: list[str]) -> None:
    assert rings(keys(*present), *wanted) == expected


def test_ring_keeps_the_keys_of_one_algorithm() -> None:
    rows = keys(RS256, ES256, RS256)
    assert [r.kid for r in ring(rows, RS256)] == ["k0", "k2"]
    assert [r.kid for r in ring(rows, ES256)] == ["k1"]
