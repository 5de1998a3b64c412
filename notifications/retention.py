"""Notification data past retention (kind ``notification_attempts`` in ``audit.retention.registry``)."""

from notifications.models import NotificationAttempt


def attempts_past(organization_id, cutoff):
    return NotificationAttempt.objects.filter(organization_id=organization_id, started_at__lt=cutoff)
