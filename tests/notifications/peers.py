"""Real peers on loopback for delivery tests: an HTTP receiver and an SMTP server.

The HTTP receiver is a threaded stdlib server: every request is recorded (method, path, headers,
body) and answered from a script of status codes (then 200 forever), optionally after a delay.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from django.test import override_settings


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes
    at: float
    client: tuple = ()  # the sender's address and port: one connection, one port

    def json(self):
        return json.loads(self.body)

    def form(self) -> dict:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    default_status: int = 200
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Requests being answered right now, and the most there were at once.
    active: int = 0
    most_concurrent: int = 0

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def respond_with(self, *statuses: int, then: int = 200) -> None:
        with self.lock:
            self.script = list(statuses)
            self.default_status = then

    def _next_status(self) -> int:
        with self.lock:
            return self.script.pop(0) if self.script else self.default_status

    def record(self, received: Received) -> int:
        with self.lock:
            self.requests.append(received)
            self.active += 1
            self.most_concurrent = max(self.most_concurrent, self.active)
        return self._next_status()

    def answered(self) -> None:
        with self.lock:
            self.active -= 1

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")


def _handler(receiver_ref):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The answer goes in two writes (head, then body): with Nagle's algorithm on, the second
        # waits for the sender's delayed acknowledgement of the first, ~40 ms on Linux, as no web
        # server a platform pages through answers. Every page then took 40 ms of a sender's thread.
        disable_nagle_algorithm = True

        def do_POST(self):  # every sender POSTs
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver = receiver_ref[0]
            status = receiver.record(
                Received(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.time(),
                    self.client_address,
                )
            )
            if receiver.delay:
                time.sleep(receiver.delay)
            receiver.answered()
            payload = b'{"sid": "SM123", "ok": true}' if status < 300 else b'{"error": "try later"}'
            # The sender may be gone (a killed worker): nobody is left to read the answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        def log_message(self, *args):
            return

    return Handler


@contextlib.contextmanager
def http_receiver():
    ref = [None]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    server.daemon_threads = True
    receiver = Receiver(server=server)
    ref[0] = receiver
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-receiver", daemon=True
    )
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mail_through(port: int):
    """Settings that send the platform's e-mail through the SMTP server on loopback ``port``."""
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_USE_TLS=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
    )


@contextlib.contextmanager
def smtp_server():
    """An aiosmtpd server on loopback; yields (port, messages) where messages collect envelopes."""
    from aiosmtpd.controller import Controller

    messages = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            envelope.received_at = time.time()  # when the page arrived, as a webhook request's ``at``
            messages.append(envelope)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, messages
    finally:
        controller.stop()


def verify_signature(secret: str, headers: dict, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does (docs/webhooks.md): recompute the HMAC over "<timestamp>.<body>" and
    compare in constant time, refusing stale timestamps."""
    timestamp = headers.get("x-opsplatform-timestamp", "")
    signature = headers.get("x-opsplatform-signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, f"v1={expected}")


@contextlib.contextmanager
def trickle_receiver(interval: float = 2.0, length: int = 100):
    """An HTTP receiver that records each request, then answers 200 one body byte every ``interval``
    seconds: a slow peer that never stalls long enough for a read timeout to fire."""
    ref = [None]

    class Handler(_handler(ref)):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ref[0].record(Received(self.command, self.path, dict(self.headers), body, time.time()))
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(200)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                for _ in range(length):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(interval)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ref[0] = Receiver(server=server)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield ref[0]
    finally:
        server.shutdown()
        server.server_close()
