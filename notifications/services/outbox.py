"""On-call and notifications: operator actions on the delivery outbox (resending a dead letter)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from audit.services import record
from incidents.realtime import publish_incident
from notifications.enqueue_after_commit import kick_delivery
from notifications.models import Notification, NotificationStatus
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability


@transaction.atomic
def notification_resend(*, actor: Actor, notification: Notification) -> Notification:
    """Give a dead letter a fresh set of attempts (its attempt history is kept and numbering goes on).

    Same idempotency key, same row: a receiver that saw an earlier attempt can still recognize it.
    """
    if notification.organization_id != getattr(actor.organization, "pk", None):
        raise Http404("No notification matches the given query.")
    incident = notification.incident
    actor.require(Capability.INCIDENT_MANAGE, incident)
    row = Notification.objects.select_for_update().get(pk=notification.pk)
    if row.status != NotificationStatus.DEAD:
        raise ValidationError({"notification": "Only a dead letter can be resent."})
    now = timezone.now()
    row.status = NotificationStatus.PENDING
    row.max_attempts = row.attempts + settings.NOTIFICATION_MAX_ATTEMPTS
    row.next_attempt_at = now
    row.resend_count += 1
    # A resend is deliberate: it goes out even if the incident has been acknowledged meanwhile.
    row.conditional = False
    row.updated_at = now
    row.save(
        update_fields=[
            "status",
            "max_attempts",
            "next_attempt_at",
            "resend_count",
            "conditional",
            "updated_at",
        ]
    )
    record(
        actor=actor,
        verb="notification.resend_requested",
        target=incident,
        data={"notification": row.pk, "medium": row.medium, "to": row.destination},
    )
    publish_incident(incident, "notification.resend_requested")
    kick_delivery()
    return row
