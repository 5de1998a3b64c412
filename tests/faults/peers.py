"""Where the platform's pages arrive during a drill: a loopback webhook receiver (the demo
organizations' webhook channel points at it) and a loopback SMTP server (the e-mails to whoever is
on call). Each page carries its delivery id (``X-OpsPlatform-Delivery``, the outbox row's
idempotency key), which is how the drill counts what arrived per page.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
from collections import Counter
from dataclasses import dataclass

from tests.notifications.peers import Receiver, http_receiver, smtp_server


@dataclass
class Peers:
    webhook: Receiver
    smtp_port: int
    mails: list

    def delivered(self) -> Counter:
        """Requests and e-mails received per delivery id."""
        counts: Counter = Counter()
        with self.webhook.lock:
            requests = list(self.webhook.requests)
        for request in requests:
            counts[request.headers.get("x-opsplatform-delivery", "")] += 1
        for envelope in list(self.mails):
            # The default policy unfolds long header lines (the delivery id is 64 characters).
            message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            counts[str(message.get("X-OpsPlatform-Delivery", "")).strip()] += 1
        return counts


@contextlib.contextmanager
def running_peers():
    with http_receiver() as webhook, smtp_server() as (smtp_port, mails):
        yield Peers(webhook=webhook, smtp_port=smtp_port, mails=mails)
