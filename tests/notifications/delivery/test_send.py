"""Preparing a claimed row for its sender: rows that cannot be sent fail on their own, with the
reason on the row, and the rest of the batch goes out."""

import pytest
from django.utils import timezone

from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from notifications.models import (
    Channel,
    ContactKind,
    ContactMethod,
    Notification,
    NotificationRule,
    NotificationStatus,
)
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.ticks import escalate

pytestmark = [pytest.mark.usefixtures("allow_loopback", "fast_retries")]


@pytest.mark.django_db
def test_disabled_channel_dead_letters(webhook, open_incident, receiver):
    _, row = escalate(open_incident)
    Channel.objects.filter(pk=webhook.pk).update(is_active=False)
    run_delivery_tick(now=row.next_attempt_at)
    row.refresh_from_db()
    assert row.status == NotificationStatus.DEAD and "disabled" in row.last_error


@pytest.mark.django_db
def test_credentials_that_do_not_open_fail_that_row_alone(org, service, open_incident, receiver):
    good = make_channel(org, kind="webhook", name="Good", url=receiver.url("/good")).channel
    bad = make_channel(org, kind="webhook", name="Bad", url=receiver.url("/bad")).channel
    # A ciphertext copied from another row does not open under this row's context.
    Channel.objects.filter(pk=bad.pk).update(secrets_encrypted=good.secrets_encrypted)
    make_policy(org, step(("channel", good), ("channel", bad)), services=[service])
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    stats = run_delivery_tick(now=incident.next_escalation_at)
    rows = {row.channel.name: row for row in Notification.objects.select_related("channel")}
    assert (stats.sent, stats.dead) == (1, 1)
    assert rows["Good"].status == NotificationStatus.SENT
    assert rows["Bad"].status == NotificationStatus.DEAD
    assert "credentials cannot be opened" in rows["Bad"].last_error
    assert [r.path for r in receiver.requests] == ["/good"]
    bad.refresh_from_db()
    assert bad.consecutive_failures == 1  # the channel shows up as failing on the dashboard


@pytest.mark.django_db
def test_a_slack_mention_without_a_slack_channel_is_dead_lettered(org, users, service, open_incident):
    operator = users["operator"]
    contact = ContactMethod.objects.create(
        user=operator, kind=ContactKind.SLACK, address="U0123ABCD", verified_at=timezone.now()
    )
    NotificationRule.objects.create(user=operator, contact_method=contact)
    make_policy(org, step(("user", operator)), services=[service])
    _, row = escalate(open_incident)
    run_delivery_tick(now=row.next_attempt_at)
    row.refresh_from_db()
    assert row.status == NotificationStatus.DEAD and row.attempts == 1
    assert row.last_error == "no active Slack channel in this organization to mention the person in"
