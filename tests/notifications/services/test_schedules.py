"""Schedule and layer services: capability, ledger, refusals and validation."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import LedgerEntry
from notifications.models import Schedule
from notifications.services import schedules as schedule_services
from tests.notifications.factories import make_policy, make_schedule, step

pytestmark = pytest.mark.django_db


def test_schedule_capability(actor_as, team):
    with pytest.raises(PermissionDenied):
        schedule_services.schedule_create(actor=actor_as("operator"), team=team, name="X")
    schedule = schedule_services.schedule_create(actor=actor_as("manager"), team=team, name="X")
    entry = LedgerEntry.objects.get(verb="schedule.created")
    assert entry.target_id == str(schedule.pk) and entry.actor_label == "manager"


def test_schedule_cannot_be_deleted_while_paged(org, team, users, actor_as):
    schedule = make_schedule(org, team)
    make_policy(org, step(("schedule", schedule)))
    with pytest.raises(ValidationError, match="Escalation policies page this schedule"):
        schedule_services.schedule_delete(actor=actor_as("manager"), schedule=schedule)
    assert Schedule.objects.filter(pk=schedule.pk).exists()


def test_restrictions_are_validated(org, team, users, actor_as):
    schedule = make_schedule(org, team)
    for bad in (
        [{"days": [7], "start": "09:00", "end": "17:00"}],
        [{"days": [1], "start": "09:00", "end": "09:00"}],
    ):
        with pytest.raises(ValidationError):
            schedule_services.layer_save(
                actor=actor_as("manager"),
                schedule=schedule,
                name="L",
                rotation="daily",
                start_date=timezone.now().date(),
                handoff_time="09:00",
                participants=[users["operator"]],
                restrictions=bad,
            )
