"""A delivery tick's sender threads keep their SMTP connection between e-mails
(``notifications.senders.mail_connections``), against a real SMTP server on loopback that counts
its sessions: one greeting for many messages, closed when the tick ends, and a connection the
server dropped replaced before a message goes out, each message delivered once."""

import contextlib
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import EmailMessage
from django.test import override_settings

from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from notifications.senders.mail_connections import KeptConnections
from tests.notifications.factories import make_channel, make_policy, step
from tests.servers import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


class CountingHandler:
    def __init__(self):
        self.messages, self.greetings, self.quits = [], 0, 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_QUIT(self, server, session, envelope):
        self.quits += 1
        return "221 Bye"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def server():
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": controller.port,
        "EMAIL_USE_TLS": False,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
    }
    try:
        with override_settings(**settings):
            yield handler
    finally:
        controller.stop()


def test_one_session_carries_a_ticks_emails_and_ends_with_it(org, service, open_incident, server):
    channels = [
        make_channel(org, kind="email", name=f"mail {n}", recipients=[f"r{n}@example.test"]) for n in range(3)
    ]
    make_policy(org, step(*[("channel", made.channel) for made in channels]), services=[service])
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)

    stats = run_delivery_tick(now=incident.next_escalation_at, concurrency=1)

    assert stats.sent == 3
    assert sorted(e.rcpt_tos[0] for e in server.messages) == [
        "r0@example.test",
        "r1@example.test",
        "r2@example.test",
    ]
    assert (server.greetings, server.quits) == (1, 1)


def test_a_connection_the_server_dropped_is_replaced_before_sending(server):
    kept = KeptConnections()
    first = kept.get()
    first.connection.sock.shutdown(socket.SHUT_RDWR)  # the session is gone, as when the server ends it

    second = kept.get()
    EmailMessage("subject", "body", "ops@example.test", ["to@example.test"], connection=second).send()

    assert second is not first
    assert len(server.messages) == 1
    assert kept.get() is second  # alive: kept
    kept.close_all()
    assert server.quits == 1  # the replaced one could not say goodbye; the kept one did


def test_other_mail_settings_open_another_connection(server):
    kept = KeptConnections()
    first = kept.get()
    with override_settings(EMAIL_PORT=free_port()), contextlib.suppress(OSError):
        kept.get()  # nothing listens there: refused, and the old connection is not reused for it
    assert kept.get() is not first
    kept.close_all()
