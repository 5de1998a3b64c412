"""SMTP connections kept open by a delivery tick's sender threads between the e-mails they send.

A fresh connection per e-mail costs the TCP handshake, the greeting, EHLO (and STARTTLS and AUTH
where configured) and QUIT: several round trips more than the message itself, and during a storm
half the pages are e-mails. So each sender thread of a tick keeps the one connection it opened, for
the same server settings, until the tick ends (``KeptConnections.close_all``).

A kept connection is checked with NOOP before it carries a message; if the server has closed it
meanwhile, it is replaced before anything is sent. After a failure the connection is dropped, and a
message is never sent a second time on another one: what the server may have accepted stays a
retry of the outbox row, as with a fresh connection.
"""

from __future__ import annotations

import contextlib
import smtplib
import threading

from django.conf import settings
from django.core.mail import get_connection


def _settings_key() -> tuple:
    return (
        settings.EMAIL_BACKEND,
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
        settings.EMAIL_USE_TLS,
        settings.EMAIL_USE_SSL,
    )


def _alive(backend) -> bool:
    smtp = getattr(backend, "connection", None)
    if smtp is None:
        return True  # not an SMTP backend (the tests' in-memory outbox): nothing to check
    try:
        return smtp.noop()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False


def _close(backend) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):  # closing a dead connection
        backend.close()


class KeptConnections:
    """One delivery tick's mail connections: one per sender thread."""

    def __init__(self):
        self._local = threading.local()
        self._opened: list = []
        self._lock = threading.Lock()

    def get(self):
        """This thread's open connection to the configured mail server, opened or replaced as needed."""
        kept = getattr(self._local, "kept", None)
        key = _settings_key()
        if kept is not None:
            if kept[0] == key and _alive(kept[1]):
                return kept[1]
            self.discard()
        backend = get_connection(fail_silently=False)
        backend.open()
        self._local.kept = (key, backend)
        with self._lock:
            self._opened.append(backend)
        return backend

    def discard(self) -> None:
        """Close this thread's connection (after a failure its state is unknown)."""
        kept = getattr(self._local, "kept", None)
        self._local.kept = None
        if kept is not None:
            with self._lock:
                if kept[1] in self._opened:
                    self._opened.remove(kept[1])
            _close(kept[1])

    def close_all(self) -> None:
        """Close every connection of the tick (it ends, and its threads with it)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for backend in opened:
            _close(backend)
