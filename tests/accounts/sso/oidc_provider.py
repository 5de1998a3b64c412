"""A real, minimal OpenID Connect provider on loopback: discovery, JWKS, authorize, token.

It keeps to the protocol where the platform could get it wrong: the authorization request must carry
state, nonce and an S256 code challenge; the token request must authenticate the client (HTTP Basic)
and present the PKCE verifier matching the challenge, with the same redirect URI; codes work once.
ID tokens are RS256-signed with keys generated here (joserfc). Tests steer it: who signs in next
(``user``), claims to force into the next token (``override``), a key outside the published set to
sign with (``forge``), and key rotation (``rotate``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, {"kid": kid, "use": "sig", "alg": "RS256"}, private=True)


class OidcProvider:
    def __init__(self, client_id: str, client_secret: str):
        self.client_id = client_id
        self.client_secret = client_secret
        self.keys = [new_key("key-1")]
        self.signing_key = self.keys[0]
        self.forge: RSAKey | None = None
        self.user: dict = {}
        self.override: dict = {}
        self.codes: dict[str, dict] = {}
        self.authorize_requests: list[dict] = []
        self.token_requests: list[dict] = []
        self.jwks_fetches = 0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def rotate(self) -> None:
        """Publish a new key and sign with it; the old key leaves the published set."""
        with self.lock:
            self.signing_key = new_key(f"key-{len(self.keys) + 1}")
            self.keys = [self.signing_key]

    # --- endpoints ---------------------------------------------------------------------------------
    def discovery(self) -> dict:
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

    def jwks(self) -> dict:
        with self.lock:
            self.jwks_fetches += 1
            return {"keys": [key.as_dict(private=False) for key in self.keys]}

    def authorize(self, query: dict) -> tuple[int, dict]:
        self.authorize_requests.append(query)
        problems = [
            name
            for name, ok in (
                ("client_id", query.get("client_id") == self.client_id),
                ("response_type", query.get("response_type") == "code"),
                ("scope", "openid" in query.get("scope", "").split()),
                ("state", bool(query.get("state"))),
                ("nonce", bool(query.get("nonce"))),
                ("code_challenge", bool(query.get("code_challenge"))),
                ("code_challenge_method", query.get("code_challenge_method") == "S256"),
            )
            if not ok
        ]
        if problems:
            return 400, {"error": "invalid_request", "missing": problems}
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "nonce": query["nonce"],
            "challenge": query["code_challenge"],
            "redirect_uri": query["redirect_uri"],
            "user": dict(self.user),
        }
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {"Location": location}

    def token(self, headers: dict, form: dict) -> tuple[int, dict]:
        self.token_requests.append({"headers": headers, "form": form})
        auth = headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if auth != expected:
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **grant["user"],
            **self.override,
        }
        key = self.forge or self.signing_key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        return 200, {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }


def _handler(provider: OidcProvider):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, body: dict, headers: dict | None = None):
            payload = b"" if status == 302 else json.dumps(body).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._answer(200, provider.discovery())
            elif url.path == "/jwks":
                self._answer(200, provider.jwks())
            elif url.path == "/authorize":
                status, result = provider.authorize(query)
                if status == 302:
                    self._answer(302, {}, result)
                else:
                    self._answer(status, result)
            else:
                self._answer(404, {"error": "not found"})

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if urlsplit(self.path).path == "/token":
                status, result = provider.token({k.lower(): v for k, v in self.headers.items()}, form)
                self._answer(status, result)
            else:
                self._answer(404, {"error": "not found"})

        def log_message(self, *args):
            return

    return Handler


@contextlib.contextmanager
def oidc_provider(client_id: str = "opsplatform", client_secret: str = "s3cret-client-value"):
    provider = OidcProvider(client_id, client_secret)
    provider.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.server.daemon_threads = True
    thread = threading.Thread(
        target=provider.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield provider
    finally:
        provider.server.shutdown()
        provider.server.server_close()
