"""One bad row never stops a delivery tick (invariant 13): a row whose preparation or send raises
fails on its own, with its error, and every other row in flight is sent and recorded exactly once."""

from datetime import timedelta
from email import message_from_bytes

import pytest
from django.conf import settings
from django.utils import timezone

from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from notifications.models import Notification, NotificationStatus
from tests.notifications.factories import make_channel, make_policy, step

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback", "fast_retries")]


def test_a_title_with_a_newline_does_not_stop_the_tick_or_resend_the_others(
    org, service, open_incident, smtp, receiver
):
    mail = make_channel(org, kind="email", name="Mail", recipients=["oncall@example.test"]).channel
    hook = make_channel(org, kind="webhook", name="Hook", url=receiver.url("/hook")).channel
    make_policy(org, step(("channel", mail), ("channel", hook)), services=[service])
    healthy = open_incident(title="Checkout errors above 5%")
    # Alertmanager summaries, webhook mappings and the API all let a newline into a title.
    hostile = open_incident(title="Disk full\r\nBcc: everyone@example.test", dedup_key="disk")
    now = timezone.now()
    run_escalation_tick(now=now)
    run_delivery_tick(now=now)
    # Past every lease: nothing left in flight may be reclaimed and sent again.
    later = now + timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS + 1)
    run_delivery_tick(now=later)

    subjects = [message_from_bytes(e.content)["Subject"] for e in smtp]
    assert len(smtp) == 2 and all(e.rcpt_tos == ["oncall@example.test"] for e in smtp)
    assert sorted(subjects) == sorted(
        [
            f"[SEV3] #{healthy.pk} Checkout errors above 5%",
            f"[SEV3] #{hostile.pk} Disk full Bcc: everyone@example.test",
        ]
    )
    assert all("everyone@example.test" not in e.rcpt_tos for e in smtp)
    delivered = sorted(r.json()["incident"]["id"] for r in receiver.requests)
    assert delivered == sorted([healthy.pk, hostile.pk])
    rows = Notification.objects.filter(incident__in=[healthy, hostile])
    assert rows.count() == 4
    assert {(r.status, r.attempts) for r in rows} == {(NotificationStatus.SENT, 1)}


def test_a_row_whose_send_raises_fails_alone_with_its_error(org, service, open_incident, smtp, receiver):
    mail = make_channel(org, kind="email", name="Mail", recipients=["oncall@example.test"]).channel
    hook = make_channel(org, kind="webhook", name="Hook", url=receiver.url("/hook")).channel
    # Stored before addresses were validated: the mailer refuses it while building the message.
    type(mail).objects.filter(pk=mail.pk).update(
        config={"recipients": ["a@example.test\nBcc: x@example.test"]}
    )
    make_policy(org, step(("channel", mail), ("channel", hook)), services=[service])
    incident = open_incident()
    now = timezone.now()
    run_escalation_tick(now=now)
    stats = run_delivery_tick(now=now)
    run_delivery_tick(now=now + timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS + 1))

    assert (stats.sent, stats.dead) == (1, 1)
    assert len(receiver.requests) == 1 and smtp == []
    rows = {
        r.channel.name: r for r in Notification.objects.filter(incident=incident).select_related("channel")
    }
    assert rows["Hook"].status == NotificationStatus.SENT and rows["Hook"].attempts == 1
    assert rows["Mail"].status == NotificationStatus.DEAD and rows["Mail"].attempts == 1
    assert "Invalid address" in rows["Mail"].last_error
    mail.refresh_from_db()
    assert mail.consecutive_failures == 1
