"""Outbox services: only a dead letter can be resent."""

import pytest
from django.core.exceptions import ValidationError

from notifications.services.outbox import notification_resend
from tests.notifications.ticks import escalate

pytestmark = [pytest.mark.usefixtures("allow_loopback", "fast_retries")]


@pytest.mark.django_db
def test_only_dead_letters_can_be_resent(webhook, open_incident, actor_as):
    _, row = escalate(open_incident)
    with pytest.raises(ValidationError):
        notification_resend(actor=actor_as("operator"), notification=row)
