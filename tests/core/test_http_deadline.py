"""The guarded outbound client: one total deadline per request and a cap on the body it reads.

A real TCP server on loopback plays the slow or flooding receiver.
"""

import contextlib
import socket
import threading
import time

import httpx
import pytest

from opsplatform.core import http


class Peer:
    """A one-connection-at-a-time HTTP peer whose answer is written by ``behave(conn)``."""

    def __init__(self, behave):
        self.behave = behave
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                self.requests += 1
                # OSError: the client gave up and closed, which is what these tests want.
                with contextlib.suppress(OSError):
                    self.behave(conn, self.stop)

    def close(self):
        self.stop.set()
        self.sock.close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"


def drip(data: bytes, every: float):
    def behave(conn, stop):
        for byte in data:
            if stop.wait(every):
                return
            conn.sendall(bytes([byte]))
        stop.wait(30)

    return behave


@pytest.fixture
def outbound(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.OUTBOUND_READ_TIMEOUT = 10.0
    settings.OUTBOUND_TOTAL_TIMEOUT = 1.5
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 1024
    peers = []

    def make(behave):
        peers.append(Peer(behave))
        return peers[-1]

    yield make
    for peer in peers:
        peer.close()


def test_a_peer_dripping_its_status_line_is_cut_off_at_the_total_deadline(outbound):
    peer = outbound(drip(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", every=0.4))

    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        http.post(peer.url, content=b"{}")

    # Each byte came well within the 10 s read timeout: only the total deadline ended it.
    assert 1.4 < time.monotonic() - started < 3.0
    assert peer.requests == 1


def test_a_peer_dripping_its_body_is_cut_off_at_the_total_deadline(outbound):
    def behave(conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        drip(b"x" * 100, every=0.4)(conn, stop)

    peer = outbound(behave)

    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        http.post(peer.url, content=b"{}")

    assert time.monotonic() - started < 3.0


def test_an_endless_body_is_read_up_to_the_cap_and_the_status_is_kept(outbound):
    def behave(conn, stop):
        conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n")
        chunk = b"y" * 65536
        while not stop.is_set():
            conn.sendall(chunk)

    peer = outbound(behave)

    started = time.monotonic()
    response = http.post(peer.url, content=b"{}")

    assert response.status_code == 500
    assert response.content == b"y" * 1024
    assert response.text.startswith("yyy")
    assert time.monotonic() - started < 1.5


def test_an_ordinary_answer_is_returned_whole(outbound):
    def behave(conn, stop):
        conn.sendall(
            b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
            b'Content-Length: 11\r\n\r\n{"ok":true}'
        )

    peer = outbound(behave)

    response = http.post(peer.url, json={"a": 1})

    assert response.status_code == 202
    assert response.json() == {"ok": True}


def test_the_deadline_does_not_outlive_its_request(outbound):
    def behave(conn, stop):
        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    peer = outbound(behave)
    http.post(peer.url, content=b"")

    # A later request on this thread starts with a fresh deadline, not an expired one.
    time.sleep(1.6)
    assert http.post(peer.url, content=b"").status_code == 204
