"""On-call and notifications: the one interface every medium's sender implements, the request it
prepares, and the outcome of sending it.

Each medium has one sender class (``email``, ``slack``, ``teams``, ``webhook``, ``twilio``), the way
Healthchecks gives each channel kind a transport with its own ``notify()``. Ours works in two halves,
because the delivery worker sends from a thread pool that must not touch the database:

* ``prepare(outgoing, message)`` (the worker's main thread) fills in one request from the message
  and what the sender was built with: addresses, and secrets the sender opened itself when the
  worker handed it the channel or contact method (``for_channel`` / ``for_contact``).
* ``transmit(outgoing)`` (a sender thread, no database) makes that request and reports the outcome.

``send(outgoing)`` runs ``transmit`` with timing and turns the outcome into a :class:`SendResult`.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.core.mail import EmailMessage
from django.utils import timezone

from notifications.incident_message import IncidentMessage
from notifications.message import Message
from notifications.senders.mail_connections import KeptConnections

logger = logging.getLogger(__name__)

# Errors end up in the ledger and on pages: never a URL (a Slack or Teams webhook URL is a credential).
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+")


def clean_error(text: str, limit: int = 300) -> str:
    return _URL.sub("[url]", " ".join(str(text).split()))[:limit]


class CannotSend(Exception):
    """Nothing can be sent for this notification; the message says why (it ends up on the row)."""


@dataclass
class Outgoing:
    notification_id: int
    attempt: int
    medium: str
    # HTTP
    method: str = "POST"
    url: str = ""
    content: bytes = b""
    headers: dict = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    # e-mail, and the tick's kept mail connections (none: a connection of its own)
    email: EmailMessage | None = None
    mail_connections: KeptConnections | None = field(default=None, repr=False)
    # set when preparation already failed; nothing is sent
    error: str = ""
    retryable: bool = False
    # the organization channel this request goes through (its health is updated with the outcome)
    channel_id: int | None = None
    # who makes the request (set by Sender.prepare)
    sender: Sender | None = field(default=None, repr=False)


@dataclass
class SendResult:
    notification_id: int
    attempt: int
    ok: bool
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str = ""
    retryable: bool = False


class Outcome(NamedTuple):
    ok: bool
    status_code: int | None = None
    error: str = ""
    retryable: bool = False


class Sender:
    """One medium. Subclasses implement ``build`` (the request) and ``transmit`` (making it)."""

    #: the message carries a one-click acknowledge link
    with_ack_link: bool = False
    #: the message is posted where others read it too, so its acknowledge link names nobody
    shared_room: bool = False

    def prepare(self, outgoing: Outgoing, message: IncidentMessage | Message) -> Outgoing:
        """The request that says ``message`` (a page, or a generic :class:`Message`) through this
        sender, ready for :func:`send`."""
        outgoing.sender = self
        if isinstance(message, Message):
            return self.build_message(outgoing, message)
        return self.build(outgoing, message)

    def build(self, outgoing: Outgoing, message: IncidentMessage) -> Outgoing:
        raise NotImplementedError(f"{type(self).__name__} must implement build()")

    def build_message(self, outgoing: Outgoing, message: Message) -> Outgoing:
        raise NotImplementedError(f"{type(self).__name__} must implement build_message()")

    def transmit(self, outgoing: Outgoing) -> Outcome:
        raise NotImplementedError(f"{type(self).__name__} must implement transmit()")


def failed(outgoing: Outgoing, error: str) -> Outgoing:
    """``outgoing`` marked as failed before sending: nothing goes out, and retrying will not help."""
    outgoing.error = error
    outgoing.retryable = False
    return outgoing


def send(outgoing: Outgoing) -> SendResult:
    started_at = timezone.now()
    start = time.perf_counter()
    if outgoing.error or outgoing.sender is None:
        outcome = Outcome(False, None, outgoing.error or "nothing was prepared to send", outgoing.retryable)
    else:
        try:
            outcome = outgoing.sender.transmit(outgoing)
        except Exception as exc:  # one row's failure must never reach the others (inv. 13)
            # A library raising on this row's content (a header the mailer refuses, an address it
            # cannot parse) would do the same on every retry: the row fails for good, with the reason.
            logger.warning("notification %s: send raised %s", outgoing.notification_id, type(exc).__name__)
            outcome = Outcome(False, None, clean_error(f"{type(exc).__name__}: {exc}"), False)
    return SendResult(
        notification_id=outgoing.notification_id,
        attempt=outgoing.attempt,
        ok=outcome.ok,
        started_at=started_at,
        duration_ms=int((time.perf_counter() - start) * 1000),
        status_code=outcome.status_code,
        error=outcome.error,
        retryable=outcome.retryable,
    )
