"""On-call and notifications: e-mail, through the deployment's SMTP settings (``EMAIL_*``).

An organization's e-mail channel mails its recipients; a person's e-mail contact method, or their
account address when they set no rules, mails them alone. Every message carries the acknowledge link.
A delivery tick's sender threads keep their connections to the mail server between messages
(``mail_connections``).
"""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from notifications.incident_message import IncidentMessage
from notifications.message import Message
from notifications.senders.base import Outcome, Outgoing, Sender, clean_error


class EmailSender(Sender):
    with_ack_link = True

    def __init__(self, recipients: list[str]):
        self.recipients = list(recipients)

    @classmethod
    def for_channel(cls, channel, **_) -> EmailSender:
        return cls(channel.config.get("recipients", []))

    def build(self, outgoing: Outgoing, message: IncidentMessage | Message) -> Outgoing:
        outgoing.email = EmailMessage(
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
