"""A TCP link to PostgreSQL on loopback that can lose one answer: the statement reaches the database,
runs and commits, and the link is cut before the end of its answer gets back, as when the database goes down
between a commit and its reply. The client sees a dropped connection and cannot tell whether the
statement took effect."""

from __future__ import annotations

import contextlib
import socket
import threading

from django.db import connection


class LossyLink:
    def __init__(self, settings_dict: dict):
        """A link to the database of ``settings_dict`` (TCP, or the unix socket of `make test`'s
        embedded PostgreSQL); point a connection at ``127.0.0.1:self.port`` to use it."""
        options = settings_dict.get("OPTIONS") or {}
        host = settings_dict.get("HOST") or options.get("host") or "127.0.0.1"
        port = int(settings_dict.get("PORT") or options.get("port") or 5432)
        self.target = (
            (socket.AF_UNIX, f"{host}/.s.PGSQL.{port}")
            if host.startswith("/")
            else (
                socket.AF_INET,
                (host, port),
            )
        )
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.marker: bytes | None = None
        self.cut = threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True, name="lossy-link").start()

    def lose_answer_to(self, marker: bytes) -> None:
        """Cut the link that next sends a statement containing ``marker``, once its answer comes."""
        with self.lock:
            self.marker = marker

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            family, address = self.target
            server = socket.socket(family, socket.SOCK_STREAM)
            server.connect(address)
            doomed = threading.Event()
            threading.Thread(target=self._up, args=(client, server, doomed), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, doomed), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, doomed: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                with self.lock:
                    if self.marker and self.marker in data:
                        self.marker = None
                        doomed.set()  # before the statement leaves: its answer is the one lost
                server.sendall(data)
        _close(client, server)

    def _down(self, server: socket.socket, client: socket.socket, doomed: threading.Event) -> None:
        answer = _Answer()
        with contextlib.suppress(OSError):
            while data := server.recv(65536):
                if doomed.is_set() and answer.committed_in(data):
                    self.cut.set()
                    break
                client.sendall(data)
        _close(client, server)


class _Answer:
    """Reads the server's messages (a type byte, then a length that counts itself) to find the end
    of an executed statement: ``ReadyForQuery`` after a ``CommandComplete``. The server sends it
    after the commit; the answer to a mere Parse (psycopg prepares first) has no ``CommandComplete``."""

    def __init__(self):
        self.buffer = b""
        self.completed = False

    def committed_in(self, data: bytes) -> bool:
        self.buffer += data
        while len(self.buffer) >= 5:
            length = int.from_bytes(self.buffer[1:5], "big")
            if len(self.buffer) < 1 + length:
                break
            kind, self.buffer = self.buffer[:1], self.buffer[1 + length :]
            if kind == b"C":
                self.completed = True
            elif kind == b"Z" and self.completed:
                return True
        return False


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()


@contextlib.contextmanager
def lossy_connection(monkeypatch):
    """The test's database connection (``connection``), through a ``LossyLink`` until the block
    ends."""
    link = LossyLink(connection.settings_dict)
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", str(link.port))
    try:
        yield link
    finally:
        connection.close()
        link.close()
