"""pyoidc (PyPI ``oic``), a strict OpenID Connect relying party, against Consentry serving https.

pyoidc refuses a provider whose issuer is not https and types every claim: ``updated_at`` must be a number
(OIDC Core §5.1), so an ID token or a userinfo answer carrying Auth0's ISO string fails to parse. Here it
discovers the provider (issuer check, JWKS), verifies the ID token of a ``profile`` login (signature, ``iss``,
``aud``, expiry) and reads ``/userinfo`` with its own client.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from auth0.management import ManagementClient
from oic.oauth2.message import ParameterError
from oic.oic import Client
from oic.oic.message import AccessTokenResponse, IdToken, OpenIDSchema, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from tests.interop.harness import PASSWORD, LiveServer, unique

pytestmark = pytest.mark.interop


def test_pyoidc_accepts_id_tokens_and_userinfo_with_profile(https_live: LiveServer, ca_file: Path) -> None:
    creds = https_live.cli("admin", "create-client", "--name", unique("pyoidc-ops"))
    api = ManagementClient(
        domain=urlsplit(https_live.issuer).netloc, client_id=creds["client_id"], client_secret=creds["client_secret"]
    )
    app = api.clients.create(
        name=unique("pyoidc RP"),
        app_type="regular_web",
        callbacks=["https://rp.example.com/cb"],
        grant_types=["password"],
        token_endpoint_auth_method="client_secret_post",
    )
    email = f"{unique('rp')}@example.com"
    api.users.create(connection="Username-Password-Authentication", email=email, password=PASSWORD)
    r = httpx.post(
        https_live.url("oauth/token"),
        data={
            "grant_type": "password",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "username": email,
            "password": PASSWORD,
            "scope": "openid profile email",
        },
    )
    assert r.status_code == 200, r.text

    rp = Client(client_authn_method=CLIENT_AUTHN_METHOD)  # verifies TLS with requests: REQUESTS_CA_BUNDLE
    provider = rp.provider_config(https_live.issuer)  # https only, issuer checked, JWKS loaded
    assert provider["issuer"] == https_live.issuer
    rp.store_registration_info(RegistrationResponse(client_id=app.client_id, client_secret=app.client_secret))
    parsed = rp.parse_response(AccessTokenResponse, info=r.text, sformat="json")
    id_token = parsed["id_token"]
    assert isinstance(id_token, IdToken) and id_token["iss"] == https_live.issuer and id_token["aud"] == [app.client_id]
    assert type(id_token["updated_at"]) is int and id_token["name"] == email

    info = rp.do_user_info_request(method="GET", token=r.json()["access_token"])
    assert isinstance(info, OpenIDSchema) and info.verify()
    assert info["sub"] == id_token["sub"] and info["updated_at"] == id_token["updated_at"]
    # what the test guards against: the same claims with Auth0's ISO string do not parse
    with pytest.raises(ParameterError, match="updated_at"):
        OpenIDSchema().from_json(json.dumps({**info.to_dict(), "updated_at": "2026-12-03T07:30:00.000Z"}))
