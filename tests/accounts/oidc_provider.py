"""A small but real OpenID provider on 127.0.0.1 for the single sign-on tests.

Discovery, JWKS, authorize (approves at once as `person`) and token endpoints over
HTTP in a thread; ID tokens signed with its own RSA key by joserfc. Knobs let a test
make it misbehave: `overrides` replaces claims of the next ID token, `signer` signs
with another provider's key and issuer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


class Provider:
    def __init__(self, client_id: str = "deskbase-acme", client_secret: str = "s3cret") -> None:  # noqa: S107
        self.client_id, self.client_secret = client_id, client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(4)})
        self.person: dict[str, Any] = {
            "sub": "u-1", "email": "pat@acme.test", "email_verified": True, "name": "Pat SSO",
        }  # fmt: skip
        self.overrides: dict[str, Any] = {}
        self.signer: Provider | None = None
        self.codes: dict[str, dict[str, Any]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Provider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def id_token(self, nonce: str) -> str:
        signer = self.signer or self
        now = int(time.time())
        claims = {"iss": signer.issuer, "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": nonce, **self.person, **self.overrides}  # fmt: skip
        return jwt.encode({"alg": "RS256", "kid": signer.key.kid}, claims, signer.key)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, body: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    return self._json({
                        "issuer": provider.issuer,
                        "authorization_endpoint": f"{provider.issuer}/authorize",
                        "token_endpoint": f"{provider.issuer}/token",
                        "jwks_uri": f"{provider.issuer}/jwks",
                        "response_types_supported": ["code"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    })  # fmt: skip
                if url.path == "/jwks":
                    return self._json(dict(KeySet([provider.key]).as_dict(private=False)))
                if url.path == "/authorize":
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = query
                    back = urllib.parse.urlencode({"code": code, "state": query["state"]})
                    self.send_response(302)
                    self.send_header("Location", f"{query['redirect_uri']}?{back}")
                    self.end_headers()
                    return None
                return self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                asked = provider.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                if (
                    asked is None
                    or form.get("client_id") != provider.client_id
                    or form.get("client_secret") != provider.client_secret
                    or form.get("redirect_uri") != asked["redirect_uri"]
                    or challenge.rstrip(b"=").decode() != asked["code_challenge"]
                ):
                    return self._json({"error": "invalid_grant"}, 400)
                return self._json({
                    "access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                    "id_token": provider.id_token(asked["nonce"]),
                })  # fmt: skip

        return Handler
