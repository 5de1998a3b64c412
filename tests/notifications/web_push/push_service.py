"""A real push service on loopback, as far as a sender can tell: it takes the POST a browser vendor's
push service would, checks the VAPID token (RFC 8292: an ES256 JWT for this origin, unexpired, with
a subject, signed by the key named in ``k=``), decrypts the ``aes128gcm`` payload (RFC 8291) with
the subscription's private key, and records what it got. Answers follow a script (201 by default).

``subscription()`` makes a browser's side: a P-256 key pair and an auth secret, and the endpoint.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.jwk import ECKey


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Pushed:
    path: str
    headers: dict
    body: bytes
    payload: dict | None
    vapid_claims: dict | None
    vapid_key: str
    problems: list[str]


@dataclass
class PushService:
    server: ThreadingHTTPServer
    devices: dict = field(default_factory=dict)  # path → (private key, auth secret)
    received: list[Pushed] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def subscription(self, name: str = "phone") -> dict:
        private = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        path = f"/push/{name}-{b64(os.urandom(6))}"
        self.devices[path] = (private, auth)
        public = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.origin + path, "keys": {"p256dh": b64(public), "auth": b64(auth)}}

    def respond_with(self, *statuses: int) -> None:
        with self.lock:
            self.script = list(statuses)

    def handle(self, path: str, headers: dict, body: bytes) -> int:
        problems: list[str] = []
        claims, key = self._check_vapid(headers.get("authorization", ""), problems)
        payload = None
        if headers.get("content-encoding") != "aes128gcm":
            problems.append("content-encoding is not aes128gcm")
        device = self.devices.get(path)
        if device is None:
            problems.append("unknown subscription")
        else:
            try:
                clear = http_ece.decrypt(
                    body, private_key=device[0], auth_secret=device[1], version="aes128gcm"
                )
                payload = json.loads(clear)
            except Exception as exc:  # a payload that does not decrypt is what this peer must catch
                problems.append(f"payload does not decrypt: {type(exc).__name__}")
        for name in ("ttl", "urgency"):
            if name not in headers:
                problems.append(f"no {name} header")
        with self.lock:
            self.received.append(Pushed(path, headers, body, payload, claims, key, problems))
            if self.script:
                return self.script.pop(0)
        if device is None:
            return 404
        return 400 if problems else 201

    def _check_vapid(self, authorization: str, problems: list[str]):
        scheme, _, params = authorization.partition(" ")
        values = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
        if scheme.lower() != "vapid" or "t" not in values or "k" not in values:
            problems.append("no vapid authorization")
            return None, ""
        point = unb64(values["k"])
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
            pem = public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            token = jwt.decode(values["t"], ECKey.import_key(pem), algorithms=["ES256"])
        except Exception as exc:
            problems.append(f"vapid token does not verify: {type(exc).__name__}")
            return None, values["k"]
        claims = token.claims
        if claims.get("aud") != self.origin:
            problems.append("vapid aud is not this push service")
        if not isinstance(claims.get("exp"), int) or not time.time() < claims["exp"] <= time.time() + 86400:
            problems.append("vapid exp missing or beyond 24 hours")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            problems.append("vapid sub missing")
        return claims, values["k"]


@contextlib.contextmanager
def push_service():
    ref: list[PushService] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = ref[0].handle(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ref.append(PushService(server=server))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield ref[0]
    finally:
        server.shutdown()
        server.server_close()
