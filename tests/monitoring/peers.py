"""Real loopback peers for the probes: an HTTP(S) server with scripted routes, a TCP port, a DNS server."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dnslib import QTYPE, RR, A
from dnslib.server import BaseResolver, DNSServer


class Route:
    def __init__(self, status=200, body=b"ok", headers=None, delay=0.0):
        self.status, self.body, self.headers, self.delay = status, body, headers or {}, delay


class HTTPPeer:
    """Routes by path; ``hits`` lists (method, path, body) of every request received."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.hits: list[tuple[str, str, bytes]] = []
        self.url = ""

    def route(self, path, **kwargs):
        self.routes[path] = Route(**kwargs)


def _handler(peer: HTTPPeer):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            peer.hits.append((self.command, self.path, body))
            route = peer.routes.get(self.path, Route(404, b"not found"))
            if route.delay:
                threading.Event().wait(route.delay)
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(route.body)

        do_GET = do_POST = do_HEAD = do_PUT = _serve

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def http_peer(tls_context: ssl.SSLContext | None = None):
    peer = HTTPPeer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(peer))
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls_context else "http"
    peer.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()


def self_signed_tls(tmp_path, *, days_valid: float) -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1 that expires in ``days_valid`` days."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days_valid))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


@contextmanager
def tcp_listener():
    """A listening socket on a free loopback port (the kernel completes handshakes from the backlog)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ZoneResolver(BaseResolver):
    """Answers A queries from a dict; NXDOMAIN for the rest."""

    def __init__(self, records: dict[str, str]):
        self.records = records
        self.queries: list[str] = []

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".")
        self.queries.append(qname)
        if request.q.qtype == QTYPE.A and qname in self.records:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(self.records[qname]), ttl=60))
        elif qname not in self.records:
            reply.header.rcode = 3  # NXDOMAIN
        return reply


@contextmanager
def dns_peer(records: dict[str, str]):
    resolver = ZoneResolver(records)
    port = closed_port()
    server = DNSServer(resolver, address="127.0.0.1", port=port)  # UDP
    server.start_thread()
    try:
        yield resolver, port
    finally:
        server.stop()
