"""On-call and notifications: e-mail, through the deployment's SMTP settings (``EMAIL_*``).

An organization's e-mail channel mails its recipients; a person's e-mail contact method, or their
account address when they set no rules, mails them alone. Every message carries the acknowledge link.
A delivery tick's sender threads keep their connections to the mail server between messages
(``mail_connections``).
"""

from __future__ import annotations

import re
import smtplib
from email.policy import Compat32

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from notifications.incident_message import IncidentMessage
from notifications.message import Message
from notifications.senders.base import Outcome, Outgoing, Sender, clean_error

# Printable ASCII and tabs: a header value of these that fits on its line is written as it is.
_PLAIN = re.compile(r"[\t\x20-\x7e]*")


class QuickFolding(Compat32):
    """The policy Django's messages use (``compat32``), without building an ``email.header.Header``
    for a header that needs neither folding nor encoding, which is nearly every header of a page:
    that object was a third of the CPU of preparing a page's e-mail (178 against 119 µs a message:
    ``make bench PYTEST_ARGS=tests/bench/test_mail_build_cost.py``). Every other value goes the
    usual way; ``tests/notifications/test_mail_policy.py`` checks the output is the same byte for
    byte."""

    def _as_is(self, name: str, value) -> str | None:
        if (
            isinstance(value, str)
            and len(name) + 2 + len(value) <= (self.max_line_length or 0)
            and _PLAIN.fullmatch(value)
        ):
            return f"{name}: {value}{self.linesep}"
        return None

    def fold(self, name, value):
        return self._as_is(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        as_is = self._as_is(name, value)
        return as_is.encode("ascii") if as_is else super().fold_binary(name, value)


QUICK_FOLDING = QuickFolding()


class PageMail(EmailMessage):
    """An e-mail whose headers are written with ``QUICK_FOLDING``."""

    def message(self):
        message = super().message()
        message.policy = QUICK_FOLDING
        return message


class EmailSender(Sender):
    with_ack_link = True

    def __init__(self, recipients: list[str]):
        self.recipients = list(recipients)

    @classmethod
    def for_channel(cls, channel, **_) -> EmailSender:
        return cls(channel.config.get("recipients", []))

    def build(self, outgoing: Outgoing, message: IncidentMessage | Message) -> Outgoing:
        outgoing.email = PageMail(
            subject=message.subject,
            body=message.text(),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=self.recipients,
            headers={"X-OpsPlatform-Delivery": message.delivery_key, "Auto-Submitted": "auto-generated"},
        )
        return outgoing

    # A generic message has a subject, a text and a delivery key too.
    build_message = build

    def transmit(self, outgoing: Outgoing) -> Outcome:
        kept = outgoing.mail_connections
        try:
            if kept is None:
                with get_connection() as connection:
                    outgoing.email.connection = connection
                    outgoing.email.send(fail_silently=False)
            else:
                outgoing.email.connection = kept.get()
                outgoing.email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            return Outcome(False, None, clean_error(f"recipient refused: {exc}"), False)
        except smtplib.SMTPResponseException as exc:
            _discard(kept)
            # 4xx is the server saying "later"; 5xx is final.
            return Outcome(
                False,
                exc.smtp_code,
                clean_error(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"),
                exc.smtp_code < 500,
            )
        except (smtplib.SMTPException, OSError) as exc:  # OSError covers refused connections and timeouts
            _discard(kept)
            return Outcome(False, None, clean_error(f"{type(exc).__name__}: {exc}"), True)
        return Outcome(True, None, "", False)


def _discard(kept) -> None:
    if kept is not None:
        kept.discard()
