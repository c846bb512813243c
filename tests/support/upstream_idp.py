"""A scriptable upstream OpenID provider on 127.0.0.1 (plain http) for the enterprise-connection tests.

It serves discovery, a JWKS and a token endpoint. The browser leg is simulated: ``issue_code(authorize_url)``
plays the user signing in at the provider and returns the callback query Consentry expects. The token endpoint
checks the PKCE verifier (S256) and the client secret, then signs an ID token whose claims and header the test
may change: ``overrides`` (None removes a claim), ``header``, ``sign_with`` ("other": a key not in the JWKS,
published under the same kid), ``alg``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "consentry-at-corp"
CLIENT_SECRET = "upstream-client-secret"


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Script:
    """What the next token response looks like."""

    sub: str = "corp-user-1"
    email: str = "alice@corp.example"
    overrides: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    sign_with: str = "good"  # good | other | hmac
    token_status: int = 200
    omit_id_token: bool = False


class UpstreamIdP:
    def __init__(self) -> None:
        self.key, self.other_key = _rsa(), _rsa()
        self.kid = "corp-key-1"
        self.script = Script()
        self.codes: dict[str, dict[str, str]] = {}
        self.token_requests: list[dict[str, Any]] = []
        self.secret = CLIENT_SECRET
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path = urlsplit(self.path).path
                if path == "/.well-known/openid-configuration":
                    self._json(200, idp.discovery())
                elif path == "/jwks":
                    self._json(200, idp.jwks())
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                idp.token_requests.append({"form": form, "authorization": self.headers.get("Authorization")})
                status, body = idp.token(form)
                self._json(status, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def issue_code(self, authorize_url: str) -> dict[str, str]:
        """The user signs in at the provider: remember the request, answer the callback's query."""
        q = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        code = base64.urlsafe_b64encode(hashlib.sha256(q["state"].encode()).digest()).decode().rstrip("=")
        self.codes[code] = q
        return {"code": code, "state": q["state"]}

    def _client_ok(self, form: dict[str, str]) -> bool:
        return form.get("client_id") == CLIENT_ID and form.get("client_secret") == self.secret

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        q = self.codes.pop(form.get("code", ""), None)
        if q is None or not self._client_ok(form):
            return 400, {"error": "invalid_grant" if q is None else "invalid_client"}
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if q.get("code_challenge_method") != "S256" or challenge.decode().rstrip("=") != q.get("code_challenge"):
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        if form.get("redirect_uri") != q.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"}
        if self.script.token_status != 200:
            return self.script.token_status, {"error": "server_error"}
        body: dict[str, Any] = {"access_token": "upstream-at", "token_type": "Bearer"}
        if not self.script.omit_id_token:
            body["id_token"] = self.id_token(q.get("nonce"))
        return 200, body

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": self.script.sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "email": self.script.email,
            "email_verified": True,
            "name": "Alice Corp",
        }
        claims.update(self.script.overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        header = {"kid": self.kid, **self.script.header}
        if self.script.sign_with == "hmac":
            return jwt.encode(claims, "x" * 32, algorithm="HS256", headers=header)
        key = self.key if self.script.sign_with == "good" else self.other_key
        return jwt.encode(claims, key, algorithm="RS256", headers=header)

    def id_jag(
        self, audience: str, client_id: str, typ: str = "oauth-id-jag+jwt", key: str = "good", **claims: Any
    ) -> str:
        """An ID-JAG for ``client_id`` at the authorization server ``audience`` (``claims`` override; None drops)."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.script.sub,
            "aud": audience,
            "client_id": client_id,
            "jti": base64.urlsafe_b64encode(hashlib.sha256(str(time.monotonic_ns()).encode()).digest()).decode()[:22],
            "scope": "read:posts write:posts",
            "iat": now,
            "exp": now + 120,
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        signer = self.key if key == "good" else self.other_key
        return jwt.encode(body, signer, algorithm="RS256", headers={"kid": self.kid, "typ": typ})

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
