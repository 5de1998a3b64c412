"""What preparing a page's e-mail costs: the message as the e-mail sender builds it, turned into the
bytes sent, with Django's header policy (``compat32``) and with the pages' ``QuickFolding``.

    make bench PYTEST_ARGS=tests/bench/test_mail_build_cost.py

Builds ``BENCH_MAILS`` (5,000) messages each way, best of three, and prints the CPU time per
message. That both give the same bytes is ``tests/notifications/test_mail_policy.py``'s to show;
here, that the two messages measured are equal.
"""

from __future__ import annotations

import os
import time

from django.core.mail import EmailMessage

from notifications.message import Link, Message
from notifications.senders import Outgoing
from notifications.senders.email import EmailSender, PageMail

MAILS = int(os.environ.get("BENCH_MAILS", "5000"))
MESSAGE = Message(
    kind="incident.triggered",
    subject="[P1] Checkout error rate above 5% (checkout-7f9c.prod.example.net) - Payments API",
    lines=("Checkout error rate above 5%", "Service: Payments API", "Severity: error", "Priority: P1"),
    links=(Link("Acknowledge", "https://ops.example.test/ack/3f8a1c6d9e2b4705/"),),
    delivery_key="9f2c" * 16,
)


def _bytes(policy_of_pages: bool) -> bytes:
    outgoing = EmailSender(["oncall@example.test"]).build(Outgoing(1, 1, "email"), MESSAGE)
    email = outgoing.email
    if not policy_of_pages:
        email.__class__ = EmailMessage  # the same message, Django's own policy
    return email.message().as_bytes(linesep="\r\n")


def _cost(policy_of_pages: bool) -> tuple[float, bytes]:
    best, sent = None, b""
    for _ in range(3):
        start = time.process_time()
        for _ in range(MAILS):
            sent = _bytes(policy_of_pages)
        elapsed = time.process_time() - start
        best = elapsed if best is None else min(best, elapsed)
    return best * 1e6 / MAILS, sent


def test_mail_build_cost():
    assert isinstance(EmailSender(["a@example.test"]).build(Outgoing(1, 1, "email"), MESSAGE).email, PageMail)
    django_us, django_bytes = _cost(policy_of_pages=False)
    ours_us, ours_bytes = _cost(policy_of_pages=True)
    print(f"\nPreparing {MAILS:,} page e-mails (best of 3, CPU, building the message and its bytes):")
    print(f"  Django's header policy:    {django_us:.0f} µs a message")
    print(f"  the pages' QuickFolding:   {ours_us:.0f} µs a message")
    assert _stable(django_bytes) == _stable(ours_bytes)


def _stable(raw: bytes) -> list[bytes]:
    """The message's lines but its Message-ID and Date, which differ from message to message."""
    return [line for line in raw.split(b"\r\n") if not line.startswith((b"Message-ID", b"Date"))]
